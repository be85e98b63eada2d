// The cluster a driver belongs to (docs/CLUSTER.md). Part of the public API (ray/api.h).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace ray {

// A node as the cluster's head knows it. Resources use Ray's names: "CPU",
// "object_store_memory" (bytes), the node's custom resources, and "node:<address>" (1).
struct NodeInfo {
  std::string node_id;  // hex
  std::string address;  // its IP address
  bool alive = false;
  bool is_head = false;
  std::map<std::string, double> resources;
};

// Every node of the cluster, dead ones too, in the order they joined; without an address at
// Init, this driver's node alone. Throws ray::RayError if ray is not initialized, in local mode,
// inside a task (for now), or if the head cannot be reached.
std::vector<NodeInfo> Nodes();

// The resources of the nodes alive, summed by name (as Nodes() names them).
std::map<std::string, double> ClusterResources();
// What of them is free now: less the CPUs and custom resources running tasks hold and the store
// bytes in use (in a cluster, as of the drivers' and nodes' last heartbeats: about a second).
std::map<std::string, double> AvailableResources();

// Where the caller runs.
class RuntimeContext {
 public:
  // The ID (hex) of the node this driver or task runs on, as Nodes() lists it.
  std::string GetNodeId() const;
};
// Throws ray::RayError if ray is not initialized.
RuntimeContext GetRuntimeContext();

}  // namespace ray
