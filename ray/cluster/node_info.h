// A node table entry as cluster.capnp's NodeInfo, both ways.
#pragma once

#include "ray/cluster/node_table.h"
#include "ray/rpc/cluster.capnp.h"

namespace ray::cluster {

void FillNodeInfo(const NodeEntry& node, rpc::cluster::NodeInfo::Builder info);
NodeEntry ReadNodeInfo(rpc::cluster::NodeInfo::Reader info);

// Resources by name as cluster.capnp's lists of Resource, both ways; and a driver's usage.
void WriteResources(const std::map<std::string, double>& resources,
                    capnp::List<rpc::cluster::Resource>::Builder list);
std::map<std::string, double> ReadResources(capnp::List<rpc::cluster::Resource>::Reader list);
void FillNodeUsage(const NodeUsage& usage, rpc::cluster::NodeUsage::Builder out);
NodeUsage ReadNodeUsage(rpc::cluster::NodeUsage::Reader in);

}  // namespace ray::cluster
