@0xd3f1c07a5e2b9461;
# A node's service: Cap'n Proto RPC over TCP (after the token handshake, ray/cluster/handshake.h)
# for the drivers of its cluster, whose schedulers place tasks on it. Each node (`ray start`)
# serves it; its address is NodeInfo.serviceAddress in the head's table (cluster.capnp).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ray::rpc::node");

interface NodeService {
  # Starts `count` workers for the scheduler at `scheduler` (HOST:PORT, where workers connect
  # with the cluster token): each runs the program whose files the head keeps under
  # `programKey` (fetched once, then cached on the node), with `argv` as its arguments (argv[0]
  # first) and `env` ("NAME=value") added to the node's environment. Fails (with `error`) if the
  # program cannot be fetched or started.
  startWorkers @0 (scheduler :Text, programKey :Text, argv :List(Text), count :UInt32,
                   env :List(Text), job :UInt32) -> (error :Text);
  # Deletes objects from the node's store: their owner freed them.
  freeObjects @1 (ids :List(Data)) -> ();
  # A driver's session on this node: while the driver holds it, the node keeps the driver's
  # objects (those of its job, ray/common/id.h) and workers; once it is released or its
  # connection ends (the driver is gone), the node deletes them and stops them.
  attach @2 (job :UInt32) -> (session :DriverSession);
}

interface DriverSession {}
