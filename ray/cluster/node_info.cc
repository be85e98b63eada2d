#include "ray/cluster/node_info.h"

namespace ray::cluster {

void FillNodeInfo(const NodeEntry& node, rpc::cluster::NodeInfo::Builder info) {
  info.setNodeId(node.node_id);
  info.setAddress(node.address);
  info.setNumCpus(node.num_cpus);
  WriteResources(node.resources, info.initResources(node.resources.size()));
  info.setObjectStoreBytes(node.object_store_bytes);
  info.setStoreUsedBytes(node.store_used_bytes);
  info.setAlive(node.alive);
  info.setIsHead(node.is_head);
  info.setDeathReason(node.death_reason);
  info.setObjectAddress(node.object_address);
  info.setServiceAddress(node.service_address);
  info.setCpusInUse(node.cpus_in_use);
  WriteResources(node.resources_in_use, info.initResourcesInUse(node.resources_in_use.size()));
}

NodeEntry ReadNodeInfo(rpc::cluster::NodeInfo::Reader info) {
  NodeEntry node;
  node.node_id = info.getNodeId();
  node.address = info.getAddress();
  node.num_cpus = info.getNumCpus();
  node.resources = ReadResources(info.getResources());
  node.object_store_bytes = info.getObjectStoreBytes();
  node.store_used_bytes = info.getStoreUsedBytes();
  node.alive = info.getAlive();
  node.is_head = info.getIsHead();
  node.death_reason = info.getDeathReason();
  node.object_address = info.getObjectAddress();
  node.service_address = info.getServiceAddress();
  node.cpus_in_use = info.getCpusInUse();
  node.resources_in_use = ReadResources(info.getResourcesInUse());
  return node;
}

void WriteResources(const std::map<std::string, double>& resources,
                    capnp::List<rpc::cluster::Resource>::Builder list) {
  size_t i = 0;
  for (const auto& [name, amount] : resources) {
    list[i].setName(name);
    list[i++].setAmount(amount);
  }
}

std::map<std::string, double> ReadResources(capnp::List<rpc::cluster::Resource>::Reader list) {
  std::map<std::string, double> resources;
  for (auto resource : list) resources[resource.getName()] = resource.getAmount();
  return resources;
}

void FillNodeUsage(const NodeUsage& usage, rpc::cluster::NodeUsage::Builder out) {
  out.setNodeId(usage.node_id);
  out.setCpus(usage.cpus);
  WriteResources(usage.resources, out.initResources(usage.resources.size()));
}

NodeUsage ReadNodeUsage(rpc::cluster::NodeUsage::Reader in) {
  return {.node_id = in.getNodeId(),
          .cpus = in.getCpus(),
          .resources = ReadResources(in.getResources())};
}

}  // namespace ray::cluster
