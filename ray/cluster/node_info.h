// A node table entry as cluster.capnp's NodeInfo, both ways.
#pragma once

#include "ray/cluster/node_table.h"
#include "ray/rpc/cluster.capnp.h"

namespace ray::cluster {

void FillNodeInfo(const NodeEntry& node, rpc::cluster::NodeInfo::Builder info);
NodeEntry ReadNodeInfo(rpc::cluster::NodeInfo::Reader info);

}  // namespace ray::cluster
