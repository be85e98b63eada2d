// The scheduler: threads inside the driver that own the task table, the object table, the
// worker pool and the function table. The driver's runtime calls it directly; workers talk to
// it over their sockets (worker.capnp). A task is dispatched to an idle worker once every
// object it reads exists and its CPUs are free; a worker blocked in Get gives its CPUs back,
// and the scheduler starts another worker when ready tasks have CPUs but no worker.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ray/common/id.h"
#include "ray/common/resources.h"
#include "ray/function/function_table.h"
#include "ray/node/dispatch_policy.h"
#include "ray/node/placement_policy.h"
#include "ray/node/reference_table.h"
#include "ray/node/task_queue.h"
#include "ray/node/task_record.h"
#include "ray/node/worker_liveness.h"
#include "ray/node/worker_pool.h"
#include "ray/node/zygote.h"
#include "ray/observability/task_graph.h"
#include "ray/rpc/message_stream.h"
#include "ray/rpc/worker.capnp.h"
#include "ray/store/client.h"

namespace ray::core {

struct FromWorkerView;  // ray/rpc/worker_messages.h

struct SchedulerOptions {
  int num_workers = 2;            // started at once
  double num_cpus = 2;            // CPUs tasks may hold at once
  int max_workers = 256;          // hard cap, blocked workers included
  TaskID root_task;               // the driver, "op-root" in the graph
  bool record_task_graph = true;  // keep the computation graph (ray/observability/task_graph.h)
  size_t max_recorded_tasks = TaskGraph::kDefaultMaxTasks;  // what the graph keeps
  // Workers started beyond num_workers (while others were blocked in a get) exit after this
  // long idle.
  absl::Duration idle_worker_timeout = absl::Seconds(10);
  // A worker that holds tasks and sends no complete message for this long (a live one sends a
  // heartbeat every second) is stalled: killed, and its tasks retried. Make it several seconds.
  absl::Duration worker_stall_timeout = absl::Seconds(30);
  // Processes the node cannot do without (the store, the zygote), each with how errors name
  // it ("the node's object store"). When one dies the node is broken: every unfinished task
  // fails with an error that says which process died, and so do later ones (NodeFailure).
  std::vector<std::pair<pid_t, std::string>> node_processes;
  ResourceMap resources;  // this node's custom resources
};

// A node of the cluster as the scheduler sees it (from the head's node table).
struct ClusterNode {
  std::string id;               // hex
  std::string object_address;   // its object server (HOST:PORT), where others copy objects from
  std::string service_address;  // its NodeService (node.capnp)
  double num_cpus = 0;
  ResourceMap resources;  // custom ones
  bool alive = true;
  // A driver's node has no service: it runs that driver's workers only.
  bool runs_workers() const { return !service_address.empty(); }
};

// How the scheduler reaches the other nodes of its cluster. Called under the scheduler's lock:
// they queue the request and return.
struct ClusterHooks {
  // Asks `node` to start `count` workers that connect back to this scheduler.
  std::function<void(const ClusterNode& node, int count)> start_workers;
  // Deletes `ids` from the store of `node` (the objects were freed).
  std::function<void(const ClusterNode& node, std::vector<ObjectID> ids)> free_objects;
  // Asks the head for the nodes now (UpdateNodes brings them); must not block.
  std::function<void()> refresh_nodes;
};

class Scheduler {
 public:
  // See DispatchPolicy.
  static constexpr absl::Duration kStealAfter = DispatchPolicy::kStealAfter;
  static constexpr size_t kMaxNesting = DispatchPolicy::kMaxNesting;
  // How long the scheduler thread leaves polling to the driver after a driver wait ends.
  static constexpr absl::Duration kPollerGrace = absl::Milliseconds(1);
  // How long a driver thread waiting for a result polls before it sleeps: a short task's
  // reply then costs no wake-up (one is about 10-15 us on a VM). A short Python task's round
  // trip takes 60-100 us here: 50 us made most of Python's sync gets sleep.
  static constexpr absl::Duration kDriverSpin = absl::Microseconds(200);
  // How long a node has to connect the workers it was asked for before it is asked again.
  static constexpr absl::Duration kWorkerStartTimeout = absl::Seconds(20);

  // `spawn_worker(fd)` starts a worker process serving the socket `fd` (the callee owns it)
  // and returns its pid and pidfd.
  using SpawnWorkerFunction = std::function<absl::StatusOr<SpawnedProcess>(int fd)>;
  Scheduler(SchedulerOptions options, std::unique_ptr<store::StoreClient> store,
            SpawnWorkerFunction spawn_worker);
  ~Scheduler();  // stops the thread; workers see their sockets close and exit

  // Starts the scheduler thread and the first workers.
  absl::Status Start();
  // Shutdown is coming: driver threads waiting for objects return at once (WaitForObjects:
  // nullopt, Wait: what is ready), and so do later waits; Interrupted() is true from now on.
  void Interrupt();
  bool Interrupted();
  // Why the node is broken ("the node's object store (pid N) died"), or nullopt.
  std::optional<std::string> NodeFailure();

  // Registers a function under its FunctionKey.
  void DefineFunction(uint64_t key, FunctionRecord function);
  // Adds a task (from the driver or a worker); its return objects are registered pending.
  void Submit(TaskRecord task);
  // An object that now exists: `value` inline, or in the store when null. It holds one
  // reference to each of `nested` (objects its value references) while it exists.
  void AddObject(const ObjectID& id, std::shared_ptr<const std::string> value, uint64_t size,
                 std::vector<ObjectID> nested);
  // An object another scheduler makes for this driver (the result of a call of an actor that
  // scheduler owns): it exists once ObjectArrived says so, and gets wait for it meanwhile. It
  // holds one reference for the caller. `value` inline, or in this node's store when null.
  void ExpectObject(const ObjectID& id);
  void ObjectArrived(const ObjectID& id, std::shared_ptr<const std::string> value, uint64_t size);
  // Calls of actors another scheduler owns (the actor host's detached actors): once its
  // arguments exist, such a call goes to the forwarder (called under the scheduler's lock: it
  // queues the call and returns), and it ends with ForeignCallDone.
  // Likewise a worker's lookup of a name this scheduler does not know goes to `lookup`, and its
  // answer comes with ForeignLookupDone; a worker's kill of such an actor goes to `kill`.
  struct ForeignHooks {
    std::function<void(const TaskRecord& call, const FunctionRecord& function)> forward_call;
    std::function<void(int worker, uint64_t request, const std::string& name)> lookup;
    std::function<void(const ObjectID& actor, bool no_restart)> kill;
  };
  void SetForeignHooks(ForeignHooks hooks) ABSL_LOCKS_EXCLUDED(mu_);
  // The answer to worker `worker`'s lookup `request`: the actor (its handle's object, with a
  // reference counted for the worker, and its class) or nullopt.
  void ForeignLookupDone(int worker, uint64_t request,
                         std::optional<std::pair<ObjectID, std::string>> found)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The actor whose handle's object is `actor` is another scheduler's: its calls are forwarded
  // (until that object is freed here).
  void AddForeignActor(const ObjectID& actor) ABSL_LOCKS_EXCLUDED(mu_);
  bool IsForeignActor(const ObjectID& actor) ABSL_LOCKS_EXCLUDED(mu_);
  // A forwarded call ended: each return's value, inline (or null: in this node's store).
  struct ForeignReturn {
    std::shared_ptr<const std::string> value;
    uint64_t size = 0;
  };
  void ForeignCallDone(const TaskID& call, std::vector<ForeignReturn> returns)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Counts a reference to an existing object. An object that no longer exists stays gone: a
  // get of it fails (it does not wait forever).
  void AddRef(const ObjectID& id);
  void RemoveRef(const ObjectID& id);

  // For the driver: waits until every object exists (or the deadline). nullopt on timeout;
  // otherwise one entry per ID: the inline bytes, or null when the object is in the store.
  std::optional<std::vector<std::shared_ptr<const std::string>>> WaitForObjects(
      std::span<const ObjectID> ids, absl::Time deadline);
  // Waits until `num_returns` of `ids` exist (or the deadline); whether each one does.
  std::vector<bool> Wait(std::span<const ObjectID> ids, size_t num_returns, absl::Time deadline);

  // Cluster mode: this node is `self` in a cluster, whose other nodes UpdateNodes names; ready
  // tasks are placed on nodes (placement_policy.h), workers there connect back (AddConnection),
  // and objects are copied between the nodes' stores by the processes that read them.
  void JoinCluster(ClusterNode self, ClusterHooks hooks);
  // The hooks are gone (the driver leaves): nothing more is asked of other nodes.
  void LeaveCluster();
  // The cluster's nodes now (this one may be among them). A node not seen before is added; one
  // dead or gone is lost: its workers' tasks are retried elsewhere and the objects only its
  // store held are lost (a get of one fails with ObjectLostError).
  void UpdateNodes(std::vector<ClusterNode> nodes);
  // A worker of another node connected (TCP, token checked): takes over `fd`. It names its node
  // in its first message.
  void AddConnection(int fd);
  // Node `node_id` cannot run this scheduler's workers (`why`): it is held lost (from any
  // thread, without blocking: handled on the scheduler's next poll).
  void NodeUnusable(const std::string& node_id, std::string why);
  // For the driver: the object server of a node holding `id` when this node's store does not
  // (nullopt when it does, or the object is not in a store).
  std::optional<std::string> SourceOf(const ObjectID& id);
  // This node's store now holds a copy of `id` (the driver copied it).
  void AddLocalCopy(const ObjectID& id);
  // Cluster nodes the scheduler knows, alive or not, this one first: for tests and status.
  std::vector<ClusterNode> KnownNodes();
  // What this scheduler's running tasks hold on each live node: (node ID, CPUs, custom ones).
  struct NodeUse {
    std::string node_id;
    double cpus = 0;
    ResourceMap resources;
  };
  std::vector<NodeUse> Usage();

  store::StoreClient& store() { return *store_; }
  // Deletes from the store now the objects freed since the scheduler thread last did (a put
  // that found the store full tries again after it).
  void ApplyStoreDeletes() ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<TaskGraph::Snapshot> GraphSnapshot() const;
  std::vector<pid_t> WorkerPids();
  // The actor named `name` (its handle's object, with a reference counted for the caller, and
  // its class), or nullopt.
  std::optional<std::pair<ObjectID, std::string>> LookupActor(const std::string& name)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Kills an actor's process (ray::Kill); it restarts if it may, unless `no_restart`.
  // NotFound for an actor this scheduler does not know.
  absl::Status KillActor(const ObjectID& actor, bool no_restart) ABSL_LOCKS_EXCLUDED(mu_);
  double num_cpus() const { return options_.num_cpus; }
  // CPUs that no running task holds.
  double FreeCpus();

  using Worker = WorkerRecord;

 private:
  void Run();
  // Waits for events on the workers' sockets (until `deadline`) and handles them. Only the
  // holder of the poller role (poller_busy_) calls it, without holding mu_.
  // For the first `spin` it polls without sleeping.
  void PollOnce(absl::Time deadline, absl::Duration spin) ABSL_LOCKS_EXCLUDED(mu_);
  // For driver threads: polls (or waits while another thread polls) until `done` or the
  // deadline; returns whether `done` holds.
  bool PollUntil(absl::FunctionRef<bool()> done, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time NextDeadline() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads a worker's message (worker_messages.h) and handles its parts; InvalidArgument for a
  // malformed one.
  absl::Status HandleMessage(Worker& worker, std::unique_ptr<ReceivedMessage> message)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SubmitLocked(TaskRecord task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `id` exists: inline `value`, or when null in the store of node `node`.
  void ObjectReady(const ObjectID& id, std::shared_ptr<const std::string> value, uint64_t size,
                   std::vector<ObjectID> nested = {}, int node = 0)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `failed`: its first return is an error.
  void TaskFinished(Worker& worker, const TaskID& id, bool failed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordStart(Worker& worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers `worker`'s lookup `request` of an actor (a reference counted for it if found).
  void AnswerLookup(Worker& worker, uint64_t request,
                    std::optional<std::pair<ObjectID, std::string>> found)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `id` starts running on `worker` (in the computation graph).
  void RecordCallStart(Worker& worker, const TaskID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The worker's front task is gone (done or handed back): its CPUs go back, and the next
  // queued task, if any, starts on them.
  void StartNextTask(Worker& worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailTask(TaskRecord& task, std::shared_ptr<const std::string> error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The task has ended: it leaves the table, and its arguments and nested references are
  // released.
  void EndTask(const TaskID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MakeReady(const TaskID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The task's name option, else its function's name.
  const std::string& NameOf(const TaskRecord& task) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Places ready tasks: on nodes as placement_ decides (in a cluster), then on each node's
  // workers as its DispatchPolicy decides.
  void Dispatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves ready tasks of lane 0 to the lanes of the nodes placement_ picks; fails those no node
  // can run.
  void PlaceReadyTasks() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether a request no node can take (`wait`: its TaskRecord::infeasible_wait) fails now. In
  // a cluster, only once a node list asked for after that still says so: a node that has just
  // joined may not be in the list yet (the link asks the head every 500 ms), so it asks at once.
  bool InfeasibleForGood(uint32_t& wait) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Each node's room as placement_ sees it (in node_views_).
  void FillNodeViews() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Dispatches the ready tasks of `lane` on the workers of `node`.
  void DispatchOn(int node, size_t lane) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The workers of `node` and the ready queue `lane` as a DispatchPolicy sees them (the
  // workers in worker_views_, their indexes in view_workers_).
  DispatchSnapshot SnapshotForDispatch(int node,
                                       absl::FunctionRef<std::optional<ReadyTask>(size_t)> ready_at,
                                       size_t ready_size, bool may_start_worker)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Assign(Worker& worker, TaskRecord& task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives `task` to a worker blocked in a get, which runs it inside its wait (nested; its
  // stack grows with each, hence kMaxNesting).
  void RunWhileBlocked(Worker& worker, TaskRecord& task, double cpus)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendTask(Worker& worker, TaskRecord& task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The worker is lost (`why`): it gets no more work, its process is killed unless `kill` is
  // false (one retired when idle), and the tasks it held are retried (or fail with `why`, out of
  // retries) once its process has ended (WorkerEnded).
  void WorkerDied(Worker& worker, const std::string& why, bool kill = true)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WorkerEnded(Worker& worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Kills the workers that are stalled (see WorkerLiveness).
  void CheckLiveness() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stops idle workers beyond num_workers that have been idle for idle_worker_timeout; returns
  // when the next one would be due (InfiniteFuture if none).
  absl::Time RetireIdleWorkers() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Worker requests (scheduler_requests.cc). A get or wait `in` carries: it waits in
  // `worker.pending`. ResourceExhausted (the worker is dropped) past kMaxRequestsInFlight.
  absl::Status AddRequest(Worker& worker, const FromWorkerView& in)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers the gets and waits whose objects exist, and with `expire` those past their deadline.
  void ServeBlockedWorkers(bool expire) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts the reply to `pending` in the worker's outbox if it is due; whether it was.
  bool Answer(Worker& worker, const Worker::Pending& pending, bool expire, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After its requests or running calls changed: a running worker that waits (Worker::Waits)
  // becomes kBlocked and gives its CPUs back, one that no longer waits kBusy again; an actor's
  // worker with call threads, left with no call and no request, kIdle.
  void SettleWaiting(Worker& worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts a worker on `node`: this one's at once (its index in `index`, if given), another's
  // by asking it (they connect later).
  absl::Status SpawnWorker(int node = 0, int* index = nullptr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Asks node `n` (not this one) for `count` more workers; they connect later.
  void AskWorkers(int n, int count) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Actors (scheduler_actors.cc). Each runs on a worker of its own, which runs nothing else: its
  // creation task runs the factory there, then its calls run there in the order they became
  // ready (submission order, but a call waits alone for its arguments).
  struct Actor {
    enum class State { kWaiting, kCreating, kAlive, kDead };
    ObjectID id;          // its handle's object: its creation's return
    TaskRecord creation;  // a copy, to run again when it restarts (its ref arguments kept)
    ActorOptions options;
    State state = State::kWaiting;  // kWaiting: its creation waits for a worker and CPUs
    bool creation_ready = false;    // its creation's arguments exist
    int node = -1;                  // where it is placed (what it holds is held there)
    int worker = -1;                // its process's, from when it has one
    bool worker_asked = false;      // a new worker was asked of its node (not this one's)
    int restarts_left = 0;          // -1: no limit
    bool restarted = false;         // its factory ran more than once
    std::deque<TaskID> ready;       // calls whose arguments exist, not sent yet, in order
    // What it holds on its node from its placement until its worker is lost: at least a CPU
    // while its creation runs, then its num_cpus; its custom resources throughout.
    double cpus_held = 0;
    ResourceAmounts resources_held;
    bool lost_pending = false;     // its lost worker's tasks are handled when its process ends
    uint32_t infeasible_wait = 0;  // as TaskRecord's
    bool to_visit = false;         // in actors_to_visit_
    std::string death;             // why it is dead
    // A detached actor: the scheduler holds a reference to its handle's object until it is dead,
    // so it lives without handles.
    bool holds_itself = false;
  };
  // A task that makes an actor or calls one was submitted: the actor's record; for a call, its
  // failure (an error object) when its actor is unknown or dead, else null.
  std::shared_ptr<const std::string> SubmitActorTask(TaskRecord& task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The task's arguments exist: an actor's creation waits for its worker, a call joins its
  // actor's ready calls. False for a plain task.
  bool MakeActorTaskReady(TaskRecord& task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the creations that can start and sends ready calls to their actors' workers; ends
  // the actors nobody references any more once their calls are done. Only the actors marked
  // since the last time (MarkActor), so that idle actors cost nothing.
  void DispatchActors() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkActor(Actor& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkActor(const ObjectID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // DispatchActors' work on one actor; false once the actor is gone from the table.
  bool VisitActor(Actor& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Places a waiting actor on a node with room for its creation and holds that room; false
  // while no node has it (or the actor died: no node ever will).
  bool PlaceActor(Actor& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A worker for a placed actor's creation: a new one on this node; on another, an idle one
  // (asked of the node when it has none, and -1 until it connects). -1 too when the actor died.
  int ActorWorkerFor(Actor& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A worker of another node named its node: it goes to the first actor waiting for a new one
  // there, if any.
  void ClaimNewWorker(Worker& worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What the actor holds goes back to its node; it is placed again when it (re)starts.
  void ReleaseActorResources(Actor& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `task` ended on an actor's worker: a creation makes the actor alive (or dead, if the
  // factory `failed`).
  void ActorTaskFinished(Worker& worker, const TaskRecord& task, bool failed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An actor's worker is lost (`why`): the actor will restart, or is dead.
  void ActorWorkerLost(Worker& worker, const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // ... and its process has ended with `lost` (its creation or calls) not done: they run
  // again on the next worker (a running call uses a retry), or fail.
  void ActorWorkerEnded(Worker& worker, std::deque<TaskID> lost) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A call of an actor that runs calls on threads (max_concurrency > 1) ended: any of those
  // sent. The worker idles once none is left and it waits in no get.
  void ConcurrentCallFinished(Worker& worker, const TaskID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static bool IsAssigned(const Worker& worker, const TaskID& id) {
    return std::find(worker.assigned.begin(), worker.assigned.end(), id) != worker.assigned.end();
  }
  // The actor is dead for good (`why`): its calls not done fail with ActorDiedError.
  void ActorDied(Actor& actor, const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status KillActorLocked(const ObjectID& actor, bool no_restart)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A worker's kill (FromWorker.killActors, restartActors): of an actor here, or of a foreign
  // one (ForeignHooks::kill); one nobody knows is logged (the message has no reply).
  void KillFromWorker(const ObjectID& actor, bool no_restart) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<std::pair<ObjectID, std::string>> LookupActorLocked(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The actor's worker says it exits after its running call (ray::ExitActor): it does not restart.
  void ActorExiting(const ObjectID& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Its name, if it still has it, is free again (ray::GetActor no longer finds it).
  void FreeName(const Actor& actor) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<const std::string> ActorDiedErrorFor(const TaskRecord& call,
                                                       const Actor& actor) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Takes in the connections AddConnection queued.
  void AdoptConnections() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A remote worker named its node: the worker joins it, or dies if the node is unknown.
  void SetWorkerNode(Worker& worker, std::string_view node_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Node `node` is dead: what was placed on it is placed again, its objects are lost.
  void NodeLost(int node, const std::string& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Nodes that have not connected the workers asked of them in time are asked again.
  void ExpireWorkerStarts() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends the frees of objects other nodes hold to them.
  void FreeRemoteCopies() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The object server of a node other than `node` holding `id` in its store, when `node` does
  // not hold it ("" otherwise).
  std::string_view SourceFor(const ObjectID& id, int node) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Resources a worker's running task holds go back to its node.
  void ReleaseResources(Worker& worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The outbox of `worker`, to fill: the worker goes on the list FlushWorkers sends.
  WorkerConnection::Outbox& OutboxOf(Worker& worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends what the outboxes of the workers on that list hold; a worker whose socket does not
  // take it all stays on the list.
  void FlushWorkers() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Keeps the values `task` carries inline within its InlineBudget: the objects past it among
  // its arguments go into the store as well (waiting for the store: rare, as a task's inline
  // values take 8 MiB before this happens). The store's error if it refuses one.
  absl::Status FitArgumentsInline(const TaskRecord& task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Wake();

  const SchedulerOptions options_;
  std::unique_ptr<store::StoreClient> store_;
  SpawnWorkerFunction spawn_worker_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;

  absl::Mutex mu_;
  absl::CondVar objects_changed_;
  absl::CondVar poller_cv_;                           // the scheduler thread waits here
  bool poller_busy_ ABSL_GUARDED_BY(mu_) = false;     // a thread is polling the sockets
  bool thread_polling_ ABSL_GUARDED_BY(mu_) = false;  // ... and it is the scheduler thread
  int driver_waiters_ ABSL_GUARDED_BY(mu_) = 0;       // driver threads in PollUntil
  absl::Time grace_until_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<uint64_t, FunctionRecord> functions_ ABSL_GUARDED_BY(mu_);
  TaskQueue tasks_ ABSL_GUARDED_BY(mu_);
  ReferenceTable objects_ ABSL_GUARDED_BY(mu_);
  WorkerPool workers_ ABSL_GUARDED_BY(mu_);
  std::vector<WorkerView> worker_views_ ABSL_GUARDED_BY(mu_);  // reused by SnapshotForDispatch
  std::vector<int> view_workers_ ABSL_GUARDED_BY(mu_);         // their indexes in workers_
  std::vector<int> to_flush_ ABSL_GUARDED_BY(mu_);  // workers whose outbox or socket has more
  std::vector<int> flushing_ ABSL_GUARDED_BY(mu_);  // the list FlushWorkers goes through
  // A node of the cluster (node 0 is this one, and the only one outside a cluster).
  struct Node {
    ClusterNode info;
    bool alive = true;
    std::string lost_why;  // once not alive
    double cpus_free = 0;
    ResourceMap custom_free;
    // What the tasks placed on it and not started yet ask (so placement does not overfill it).
    double placed_cpus = 0;
    ResourceMap placed_custom;
    int starting = 0;  // workers asked of it that have not connected yet
    absl::Time starting_since;
    std::deque<ObjectID> actors_waiting;  // for a new worker there, in the order they asked
    DispatchPolicy policy{1, 1};
  };
  std::vector<Node> nodes_ ABSL_GUARDED_BY(mu_);
  absl::node_hash_map<ObjectID, Actor> actors_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ObjectID> actor_names_ ABSL_GUARDED_BY(mu_);  // live ones
  // Actors DispatchActors looks at next: those something happened to (calls ready or done, their
  // handle freed, their worker lost, ...) and those waiting to be made.
  std::vector<ObjectID> actors_to_visit_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> node_index_ ABSL_GUARDED_BY(mu_);
  bool in_cluster_ ABSL_GUARDED_BY(mu_) = false;
  uint32_t node_updates_ ABSL_GUARDED_BY(mu_) = 0;  // UpdateNodes calls
  ClusterHooks hooks_ ABSL_GUARDED_BY(mu_);
  ForeignHooks foreign_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<ObjectID> foreign_actors_ ABSL_GUARDED_BY(mu_);  // AddForeignActor
  PlacementPolicy placement_;
  std::vector<NodeView> node_views_ ABSL_GUARDED_BY(mu_);      // reused by PlaceReadyTasks
  std::vector<ResourceMap> custom_room_ ABSL_GUARDED_BY(mu_);  // the same
  absl::Mutex connections_mu_;
  std::vector<int> new_connections_ ABSL_GUARDED_BY(connections_mu_);
  std::vector<std::pair<std::string, std::string>> unusable_nodes_ ABSL_GUARDED_BY(connections_mu_);
  WorkerLiveness liveness_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<TaskGraph> graph_;  // null when not recording; thread-safe itself
  struct NodeProcess {
    int pidfd = -1;  // readable once the process has ended
    pid_t pid = 0;
    std::string what;
  };
  std::vector<std::unique_ptr<NodeProcess>> node_processes_;  // set up before polling starts
  std::optional<std::string> node_failure_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> node_broken_{false};  // node_failure_ is set (read without the lock)
  // The node is broken (`why`): fails every unfinished task with it.
  void NodeFailed(std::string why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
};

}  // namespace ray::core
