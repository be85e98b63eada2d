// The head's node table, no I/O: who joined, with what, and who is alive. Dead is final.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ray::cluster {

struct NodeEntry {
  std::string node_id;  // hex
  std::string address;  // IP address
  double num_cpus = 0;
  std::map<std::string, double> resources;  // custom resources
  uint64_t object_store_bytes = 0;
  uint64_t store_used_bytes = 0;
  bool alive = true;
  bool is_head = false;
  std::string death_reason;
  std::string object_address;  // its object server (HOST:PORT)
  double cpus_in_use = 0;      // held by running tasks (the drivers' reports, summed)
  std::map<std::string, double> resources_in_use;
  std::string service_address;  // its NodeService (node.capnp); "" for a driver's node
  absl::Time last_heartbeat;
};

// What a driver's tasks hold on one node.
struct NodeUsage {
  std::string node_id;
  double cpus = 0;
  std::map<std::string, double> resources;
};

// A node's resources by Ray's names: "CPU", "object_store_memory" (bytes), its custom ones, and
// "node:<address>" (1); `available`: less what is in use.
std::map<std::string, double> RayResources(const NodeEntry& node, bool available = false);
// RayResources of the nodes alive, summed.
std::map<std::string, double> ClusterRayResources(const std::vector<NodeEntry>& nodes,
                                                  bool available);

class NodeTable {
 public:
  // AlreadyExists if a node with this ID joined before (alive or dead).
  absl::Status Register(NodeEntry node, absl::Time now);
  // Notes a heartbeat of a live node, with what its driver's tasks hold on each node (a node
  // that runs no driver reports none); false if it is unknown or dead.
  bool Heartbeat(const std::string& node_id, uint64_t store_used_bytes, absl::Time now,
                 std::vector<NodeUsage> usage = {});
  // Whether `node_id` is in the table and alive.
  bool Alive(const std::string& node_id) const;
  // Marks a live node dead for `reason`; false if it was not alive.
  bool MarkDead(const std::string& node_id, const std::string& reason);
  // Marks dead every live node but the head whose last heartbeat is older than `timeout`;
  // returns their IDs.
  std::vector<std::string> ExpireSilent(absl::Time now, absl::Duration timeout);
  // Every node, in the order they joined, with what the live drivers' tasks hold on it.
  std::vector<NodeEntry> Nodes() const;

 private:
  std::vector<NodeEntry> nodes_;  // a few per machine: a scan is fine for now
  std::map<std::string, std::vector<NodeUsage>> usage_;  // by reporting node
  const NodeEntry* Find(const std::string& node_id) const;
  NodeEntry* Find(const std::string& node_id) {
    return const_cast<NodeEntry*>(std::as_const(*this).Find(node_id));
  }
};

}  // namespace ray::cluster
