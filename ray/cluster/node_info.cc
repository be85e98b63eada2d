#include "ray/cluster/node_info.h"

namespace ray::cluster {

void FillNodeInfo(const NodeEntry& node, rpc::cluster::NodeInfo::Builder info) {
  info.setNodeId(node.node_id);
  info.setAddress(node.address);
  info.setNumCpus(node.num_cpus);
  auto resources = info.initResources(node.resources.size());
  size_t i = 0;
  for (const auto& [name, amount] : node.resources) {
    resources[i].setName(name);
    resources[i++].setAmount(amount);
  }
  info.setObjectStoreBytes(node.object_store_bytes);
  info.setStoreUsedBytes(node.store_used_bytes);
  info.setAlive(node.alive);
  info.setIsHead(node.is_head);
  info.setDeathReason(node.death_reason);
  info.setObjectAddress(node.object_address);
  info.setServiceAddress(node.service_address);
  info.setCpusInUse(node.cpus_in_use);
  auto in_use = info.initResourcesInUse(node.resources_in_use.size());
  i = 0;
  for (const auto& [name, amount] : node.resources_in_use) {
    in_use[i].setName(name);
    in_use[i++].setAmount(amount);
  }
}

NodeEntry ReadNodeInfo(rpc::cluster::NodeInfo::Reader info) {
  NodeEntry node;
  node.node_id = info.getNodeId();
  node.address = info.getAddress();
  node.num_cpus = info.getNumCpus();
  for (auto resource : info.getResources())
    node.resources[resource.getName()] = resource.getAmount();
  node.object_store_bytes = info.getObjectStoreBytes();
  node.store_used_bytes = info.getStoreUsedBytes();
  node.alive = info.getAlive();
  node.is_head = info.getIsHead();
  node.death_reason = info.getDeathReason();
  node.object_address = info.getObjectAddress();
  node.service_address = info.getServiceAddress();
  node.cpus_in_use = info.getCpusInUse();
  for (auto resource : info.getResourcesInUse()) {
    node.resources_in_use[resource.getName()] = resource.getAmount();
  }
  return node;
}

}  // namespace ray::cluster
