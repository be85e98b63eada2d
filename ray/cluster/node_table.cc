#include "ray/cluster/node_table.h"

#include "absl/strings/str_cat.h"

namespace ray::cluster {

std::map<std::string, double> RayResources(const NodeEntry& node) {
  std::map<std::string, double> resources = node.resources;
  resources["CPU"] = node.num_cpus;
  resources["object_store_memory"] = static_cast<double>(node.object_store_bytes);
  resources[absl::StrCat("node:", node.address)] = 1;
  return resources;
}

NodeEntry* NodeTable::Find(const std::string& node_id) {
  for (NodeEntry& node : nodes_) {
    if (node.node_id == node_id) return &node;
  }
  return nullptr;
}

absl::Status NodeTable::Register(NodeEntry node, absl::Time now) {
  if (node.node_id.empty()) return absl::InvalidArgumentError("a node needs an ID");
  if (const NodeEntry* known = Find(node.node_id)) {
    return absl::AlreadyExistsError(absl::StrCat("node ", node.node_id, " is already registered (",
                                                 known->alive ? "alive" : "dead",
                                                 "); a node joins once"));
  }
  node.alive = true;
  node.death_reason.clear();
  node.last_heartbeat = now;
  nodes_.push_back(std::move(node));
  return absl::OkStatus();
}

bool NodeTable::Heartbeat(const std::string& node_id, uint64_t store_used_bytes, absl::Time now) {
  NodeEntry* node = Find(node_id);
  if (node == nullptr || !node->alive) return false;
  node->last_heartbeat = now;
  node->store_used_bytes = store_used_bytes;
  return true;
}

bool NodeTable::MarkDead(const std::string& node_id, const std::string& reason) {
  NodeEntry* node = Find(node_id);
  if (node == nullptr || !node->alive) return false;
  node->alive = false;
  node->death_reason = reason;
  return true;
}

std::vector<std::string> NodeTable::ExpireSilent(absl::Time now, absl::Duration timeout) {
  std::vector<std::string> expired;
  for (NodeEntry& node : nodes_) {
    if (!node.alive || node.is_head || now - node.last_heartbeat <= timeout) continue;
    node.alive = false;
    node.death_reason = absl::StrCat("no heartbeat for ", absl::FormatDuration(timeout));
    expired.push_back(node.node_id);
  }
  return expired;
}

std::vector<NodeEntry> NodeTable::Nodes() const { return nodes_; }

}  // namespace ray::cluster
