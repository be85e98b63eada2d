@0xb9d2a4ad371f72c1;
# Messages between the scheduler (in the driver) and a worker process, over a unix
# socketpair. Each frame is one message in Cap'n Proto's standard stream framing, carrying a
# batch: the hot path sends many tasks, results and reference counts per system call. Both sides
# read and write them through one codec (worker_messages.h), which checks what it reads.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ray::core::rpc");

# Frame sizes, in both directions. A frame that declares more than maxFrameBytes is a protocol
# error: the reader drops the connection (the scheduler then kills the worker). A sender closes
# a message once it holds batchBytes and sends the rest of its batch in the next ones, so a
# message holds at most batchBytes plus one item. The largest item is one task (its arguments
# to a worker, or its results back): values inline up to kTaskInlineBytes (8 MiB,
# ray/core_worker/core_runtime.h; the rest go through the store) and lists of at most maxIdsPerList
# IDs (40 bytes each as Data) among its arguments and the objects its values reference. A get
# or wait request carries at most maxIdsPerList IDs too. 8 + 8 + 40 MiB, and room to spare.
const maxFrameBytes :UInt64 = 67108864;   # 64 MiB
const batchBytes :UInt64 = 8388608;       # 8 MiB
const maxIdsPerList :UInt32 = 1048576;

# A function as another process of the same binary finds it (ray/function/function_id.h).
struct FunctionDescriptor {
  buildId @0 :Data;     # its module's ELF build-id, raw bytes (1 to 64)
  offset @1 :UInt64;    # its link-time address in the module
  name @2 :Text;        # demangled, for messages
  modulePath @3 :Text;  # in the describing process, for messages; usually left empty
}

# Names a (invoker, function) pair by a 64-bit key; sent once per connection before first use.
struct FunctionDef {
  key @0 :UInt64;
  invoker @1 :FunctionDescriptor;   # the type-specific invoker
  function @2 :FunctionDescriptor;  # the user's function
  name @3 :Text;
}

struct Arg {
  union {
    value @0 :Data;    # serialized value (ray/object/object_format.h)
    ref @1 :Data;      # ObjectID: to the scheduler, any object; to a worker, one in the store
  }
  # To a worker, for a ref its node's store does not hold: the object server (HOST:PORT) of a
  # node that does, to copy it from first.
  source @2 :Text;
}

# A custom resource a task asks for (CPUs are Task.numCpus).
struct Resource {
  name @0 :Text;
  amount @1 :Float64;
}

struct Task {
  taskId @0 :Data;
  parentTaskId @1 :Data;
  function @2 :UInt64;
  args @3 :List(Arg);
  numReturns @4 :UInt32;
  numCpus @5 :Float64;
  maxRetries @6 :Int32;
  name @7 :Text;       # for the graph and errors; empty: the function's name
  nestedRefs @8 :List(Data);  # objects the argument values reference: held until the task ends
  runWhileBlocked @9 :Bool;   # to a worker blocked in a get: run it inside the wait
  resources @10 :List(Resource);  # custom resources it holds while it runs
  actor @11 :Data;  # a call of this actor (the ID of its handle's object); unset: a plain task
  createsActor @12 :ActorOptions;  # set: it makes an actor (its return is the handle's object)
  actorRestart @13 :Bool;  # to a worker, with a creation: the actor's factory ran before
}

# ray/common/actor_options.h
struct ActorOptions {
  maxRestarts @0 :Int32;
  maxTaskRetries @1 :Int32;
  maxConcurrency @2 :Int32;
  numCpus @3 :Float64;
  name @4 :Text;
  type @5 :Text;
  detached @6 :Bool;  # it lives until killed or it exits, not while handles do
}

# Reply to FromWorker.lookupActor: the actor of that name, or none (`id` unset).
struct ActorLookup {
  id @0 :Data;    # its handle's object (a reference counted for the worker)
  type @1 :Text;
}

# An object's value: inline bytes, or a note that it is sealed in the node's store.
struct Object {
  id @0 :Data;
  union {
    value @1 :Data;
    inStore @2 :UInt64;   # its size
  }
  nestedRefs @3 :List(Data);  # objects its value references (from a worker): held while it lives
  source @4 :Text;  # to a worker, for one in a store that is not its node's: as Arg.source
}

struct TaskDone {
  taskId @0 :Data;
  returns @1 :List(Object);
  startedNs @2 :Int64;   # when the worker started and ended it (Unix time, its clock)
  finishedNs @3 :Int64;
}

# A message carries (a part of) one reply at most: `objects`, `getFailed`, `ready` or `actor`
# answer the request named `replyTo`. Several replies to one worker go in messages of their own.
struct ToWorker {
  functions @0 :List(FunctionDef);
  tasks @1 :List(Task);          # run in order
  objects @2 :List(Object);      # reply to the worker's `get`, over one or more messages
  getFailed @3 :Text;            # reply to `get` when it cannot be served (timeout...)
  ready @4 :List(Data);          # reply to `wait`: the IDs that exist
  returnQueued @5 :Bool;         # hand back the tasks not started yet (another worker is idle)
  actor @6 :ActorLookup;         # reply to `lookupActor`
  replyTo @7 :UInt64;            # the request (its `requestId`) the reply in this message answers
}

# A blocking request (get, wait, lookupActor) carries an ID the worker chose, unique among its
# requests in flight, and its reply names it (ToWorker.replyTo): call threads of a threaded actor,
# and a client's threads, each have their own request in flight. A worker that runs one task at
# a time has one at most (and one beneath each nested task it runs while blocked).
# An empty FromWorker is a heartbeat: a worker that holds tasks sends one when it has sent
# nothing for a second (SchedulerOptions::worker_stall_timeout).
struct FromWorker {
  pid @0 :Int32;                 # first message of a worker
  functions @1 :List(FunctionDef);
  done @2 :List(TaskDone);
  submits @3 :List(Task);
  puts @4 :List(Object);
  addRefs @5 :List(Data);
  removeRefs @6 :List(Data);
  handedBack @7 :List(Data);     # tasks sent to this worker that it will not run
  get @8 :GetRequest;            # blocks the worker's current task until answered
  wait @9 :WaitRequest;
  nodeId @10 :Text;              # first message of a worker: its node (hex)
  copied @11 :List(Data);        # objects it copied into its node's store (from a `source`)
  killActors @12 :List(Data);    # actors (their handles' objects) to kill for good
  restartActors @13 :List(Data); # ... to kill, restarting if they may
  exitingActors @14 :List(Data); # its actor called ray::ExitActor: it ends after this call
  lookupActor @15 :Text;         # ray::GetActor(name): blocks its task until `actor` answers
  # First message of a client rather than a worker: another driver's process that calls this
  # scheduler's actors (submits, gets, lookups, kills) and runs no task.
  client @16 :Bool;
  lookupRequestId @17 :UInt64;   # names the `lookupActor` request (as GetRequest.requestId)
}

struct GetRequest {
  ids @0 :List(Data);
  timeoutMs @1 :Int64;           # negative: forever
  requestId @2 :UInt64;
}

struct WaitRequest {
  ids @0 :List(Data);
  numReturns @1 :UInt32;
  timeoutMs @2 :Int64;
  requestId @3 :UInt64;
}
