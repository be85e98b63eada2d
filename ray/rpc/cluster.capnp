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
  cpusInUse @11 :Float64;       # held by running tasks, as the drivers report them
  resourcesInUse @12 :List(Resource);
}

# What a driver's tasks hold on one node now.
struct NodeUsage {
  nodeId @0 :Text;
  cpus @1 :Float64;
  resources @2 :List(Resource);
}

interface ClusterHead {
  # Joins the cluster. Refused (with `error` saying why, and no `node`) on a protocol or
  # library version other than the head's, or a node ID already in the table.
  register @0 (protocolVersion :UInt32, libraryVersion :Text, node :NodeInfo)
      -> (error :Text, node :NodeSession);
  # The node table, dead nodes included.
  nodes @1 () -> (nodes :List(NodeInfo), headVersion :Text);

  # Code shipping (docs/CLUSTER.md): a driver's executable and libraries, by key.
  # Records a program. `missing`: the keys of its files the head lacks (then nothing is
  # recorded: upload them, then put it again); empty once recorded. `error` for a malformed
  # manifest or a head that keeps no programs.
  putProgram @2 (programKey :Text, manifest :ProgramManifest)
      -> (missing :List(Text), error :Text);
  # Starts the upload of the file `key` of `size` bytes (at most 2 GiB); `error` instead of an
  # `upload` if refused.
  uploadProgramFile @3 (key :Text, size :UInt64) -> (upload :ProgramFileUpload, error :Text);
  # A recorded program's files; `found` is false if no program has that key.
  programManifest @4 (programKey :Text) -> (found :Bool, manifest :ProgramManifest);
  # Up to `length` bytes (at most 4 MiB) of a stored file from `offset`; fewer at its end.
  readProgramFile @5 (key :Text, offset :UInt64, length :UInt32) -> (data :Data, error :Text);

  # Actor hosts (docs/CLUSTER.md): the program `programKey` run on the head's node in host mode,
  # a driver of its own that outlives the drivers of that program (their detached actors live
  # there). Answers the scheduler address (HOST:PORT, where its workers and other drivers
  # connect) and the job (ray/common/id.h) of the live host of that program, starting one with
  # `argv` (argv[0] first) and `env` ("NAME=value", added to the node's) if none is registered
  # and alive; concurrent askers share one start, answered once the host registered. `error`
  # instead if it could not start (the launcher's reason, or silence for its ready timeout) or
  # the head starts no hosts. With `start` false, none is started: no host is an empty answer.
  # `hostKey` (ProgramImage::host_key) names the host: drivers whose programs differ only in the
  # libraries they happen to have loaded share it; "" for `programKey`.
  actorHost @6 (programKey :Text, argv :List(Text), env :List(Text), start :Bool = true,
                hostKey :Text) -> (address :Text, job :UInt32, error :Text);
}

struct ProgramFile {
  key @0 :Text;   # the ELF build-id in hex, or "content-" and 32 hex digits of a hash of the bytes
  name @1 :Text;  # the file name it is loaded by
  size @2 :UInt64;
}

struct ProgramManifest {
  executable @0 :ProgramFile;
  libraries @1 :List(ProgramFile);  # sorted by name
}

# One file on its way to the head. Released before `commit` succeeded: the head drops it.
interface ProgramFileUpload {
  # The file's next bytes. Fails past the declared size.
  write @0 (data :Data) -> stream;
  # Checks the size and that the bytes are the file the key names, and stores it; `error` says
  # why not (the upload is then void).
  commit @1 () -> (error :Text);
}

# A registered node's link to the head. Released (or its connection lost): the node is dead.
interface NodeSession {
  # `usage`: what the tasks of the driver whose node this is hold on each node (drivers only).
  heartbeat @0 (storeUsedBytes :UInt64, usage :List(NodeUsage)) -> ();
  # This node's driver is the actor host of `hostKey` (ClusterHead.actorHost), its scheduler at
  # `address` (HOST:PORT) with `job`. Forgotten when the node is dead. `error` if another live
  # host of that key is registered.
  registerActorHost @1 (hostKey :Text, address :Text, job :UInt32) -> (error :Text);
}
