@0x8c57bdd1857dfe80;
# The cluster protocol: Cap'n Proto RPC over TCP between the head and its nodes, drivers and
# the `ray` CLI. Before any RPC byte, a connection presents the cluster token
# (ray/cluster/handshake.h); the head's bootstrap capability is ClusterHead.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ray::rpc::cluster");

struct Resource {
  name @0 :Text;
  amount @1 :Float64;
}

struct NodeInfo {
  nodeId @0 :Text;              # random, hex
  address @1 :Text;             # the node's IP address
  numCpus @2 :Float64;
  resources @3 :List(Resource); # custom resources
  objectStoreBytes @4 :UInt64;  # the store's capacity
  storeUsedBytes @5 :UInt64;    # as of its last heartbeat
  alive @6 :Bool;
  isHead @7 :Bool;
  deathReason @8 :Text;         # why it is dead ("" while alive)
  objectAddress @9 :Text;       # its object server (HOST:PORT): other nodes copy objects from it
  serviceAddress @10 :Text;     # its NodeService (node.capnp); "" for a driver's node
}

interface ClusterHead {
  # Joins the cluster. Refused (with `error` saying why, and no `node`) on a protocol or
  # library version other than the head's, or a node ID already in the table.
  register @0 (protocolVersion :UInt32, libraryVersion :Text, node :NodeInfo)
      -> (error :Text, node :NodeSession);
  # The node table, dead nodes included.
  nodes @1 () -> (nodes :List(NodeInfo), headVersion :Text);
}

# A registered node's link to the head. Released (or its connection lost): the node is dead.
interface NodeSession {
  heartbeat @0 (storeUsedBytes :UInt64) -> ();
}
