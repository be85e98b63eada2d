#include "ray/api/cluster.h"

#include "ray/api/errors.h"
#include "ray/api/internal/status.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/session.h"

namespace ray {

std::vector<NodeInfo> Nodes() {
  auto nodes = core::SessionNodes();
  if (!nodes.ok()) internal::ThrowCallError("ray::Nodes", nodes.status());
  std::vector<NodeInfo> result;
  for (const cluster::NodeEntry& node : *nodes) {
    result.push_back({node.node_id, node.address, node.alive, node.is_head, RayResources(node)});
  }
  return result;
}

std::map<std::string, double> ClusterResources() {
  std::map<std::string, double> total;
  for (const NodeInfo& node : Nodes()) {
    if (!node.alive) continue;
    for (const auto& [name, amount] : node.resources) total[name] += amount;
  }
  return total;
}

std::string RuntimeContext::GetNodeId() const { return core::ThisNodeId(); }

RuntimeContext GetRuntimeContext() {
  if (core::CurrentRuntime() == nullptr) {
    throw RayError("ray::GetRuntimeContext: ray is not initialized: call ray::Init first");
  }
  return RuntimeContext();
}

}  // namespace ray
