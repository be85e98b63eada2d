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

namespace {

std::map<std::string, double> SumResources(const char* api, bool available) {
  auto nodes = core::SessionNodes();
  if (!nodes.ok()) internal::ThrowCallError(api, nodes.status());
  return cluster::ClusterRayResources(*nodes, available);
}

}  // namespace

std::map<std::string, double> ClusterResources() {
  return SumResources("ray::ClusterResources", /*available=*/false);
}

std::map<std::string, double> AvailableResources() {
  return SumResources("ray::AvailableResources", /*available=*/true);
}

std::string RuntimeContext::GetNodeId() const { return core::ThisNodeId(); }

RuntimeContext GetRuntimeContext() {
  if (core::CurrentRuntime() == nullptr) {
    throw RayError("ray::GetRuntimeContext: ray is not initialized: call ray::Init first");
  }
  return RuntimeContext();
}

}  // namespace ray
