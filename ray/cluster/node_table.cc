#include "ray/cluster/node_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ray::cluster {

std::map<std::string, double> RayResources(const NodeEntry& node, bool available) {
  std::map<std::string, double> resources = node.resources;
  resources["CPU"] = node.num_cpus;
  resources["object_store_memory"] = static_cast<double>(node.object_store_bytes);
  if (available) {
    resources["CPU"] = std::max(0.0, node.num_cpus - node.cpus_in_use);
    resources["object_store_memory"] = static_cast<double>(
        node.object_store_bytes - std::min(node.store_used_bytes, node.object_store_bytes));
    for (const auto& [name, amount] : node.resources_in_use) {
      if (auto it = resources.find(name); it != resources.end()) {
        it->second = std::max(0.0, it->second - amount);
      }
    }
  }
  resources[absl::StrCat("node:", node.address)] = 1;
  return resources;
}

std::map<std::string, double> ClusterRayResources(const std::vector<NodeEntry>& nodes,
                                                  bool available) {
  std::map<std::string, double> total;
  for (const NodeEntry& node : nodes) {
    if (!node.alive) continue;
    for (const auto& [name, amount] : RayResources(node, available)) total[name] += amount;
  }
  return total;
}

const NodeEntry* NodeTable::Find(const std::string& node_id) const {
  for (const NodeEntry& node : nodes_) {
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

bool NodeTable::Heartbeat(const std::string& node_id, uint64_t store_used_bytes, absl::Time now,
                          std::vector<NodeUsage> usage) {
  NodeEntry* node = Find(node_id);
  if (node == nullptr || !node->alive) return false;
  node->last_heartbeat = now;
  node->store_used_bytes = store_used_bytes;
  if (usage.empty()) {
    usage_.erase(node_id);
  } else {
    usage_[node_id] = std::move(usage);
  }
  return true;
}

bool NodeTable::Alive(const std::string& node_id) const {
  const NodeEntry* node = Find(node_id);
  return node != nullptr && node->alive;
}

bool NodeTable::MarkDead(const std::string& node_id, const std::string& reason) {
  NodeEntry* node = Find(node_id);
  if (node == nullptr || !node->alive) return false;
  node->alive = false;
  node->death_reason = reason;
  usage_.erase(node_id);  // what its driver's tasks held is free again
  return true;
}

std::vector<std::string> NodeTable::ExpireSilent(absl::Time now, absl::Duration timeout) {
  std::vector<std::string> expired;
  for (NodeEntry& node : nodes_) {
    if (!node.alive || node.is_head || now - node.last_heartbeat <= timeout) continue;
    node.alive = false;
    node.death_reason = absl::StrCat("no heartbeat for ", absl::FormatDuration(timeout));
    usage_.erase(node.node_id);
    expired.push_back(node.node_id);
  }
  return expired;
}

std::vector<NodeEntry> NodeTable::Nodes() const {
  std::vector<NodeEntry> nodes = nodes_;
  for (const auto& [reporter, usage] : usage_) {
    for (const NodeUsage& use : usage) {
      for (NodeEntry& node : nodes) {
        if (node.node_id != use.node_id) continue;
        node.cpus_in_use += use.cpus;
        for (const auto& [name, amount] : use.resources) node.resources_in_use[name] += amount;
      }
    }
  }
  return nodes;
}

}  // namespace ray::cluster
