// The scheduler: threads inside the driver that own the task table, the object table, the
// worker pool and the function table. The driver's runtime calls it directly; workers talk to
// it over their sockets (worker.capnp). A task is dispatched to an idle worker once every
// object it reads exists and its CPUs are free; a worker blocked in Get gives its CPUs back,
// and the scheduler starts another worker when ready tasks have CPUs but no worker.
#pragma once

#include <sys/types.h>

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
#include "ray/function/function_table.h"
#include "ray/node/dispatch_policy.h"
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
};

class Scheduler {
 public:
  // See DispatchPolicy.
  static constexpr absl::Duration kStealAfter = DispatchPolicy::kStealAfter;
  static constexpr size_t kMaxNesting = DispatchPolicy::kMaxNesting;
  // How long the scheduler thread leaves polling to the driver after a driver wait ends.
  static constexpr absl::Duration kPollerGrace = absl::Milliseconds(1);
  // How long a driver thread waiting for a result polls before it sleeps: a short task's
  // reply then costs no wake-up (one is about 10-15 us on a VM).
  static constexpr absl::Duration kDriverSpin = absl::Microseconds(50);

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

  store::StoreClient& store() { return *store_; }
  // Deletes from the store now the objects freed since the scheduler thread last did (a put
  // that found the store full tries again after it).
  void ApplyStoreDeletes() ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<TaskGraph::Snapshot> GraphSnapshot() const;
  std::vector<pid_t> WorkerPids();
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
  void ObjectReady(const ObjectID& id, std::shared_ptr<const std::string> value, uint64_t size,
                   std::vector<ObjectID> nested = {}) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TaskFinished(Worker& worker, const TaskID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordStart(Worker& worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
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
  // Places ready tasks as policy_ decides.
  void Dispatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The workers and the ready queue as policy_ sees them (the workers in worker_views_).
  DispatchSnapshot SnapshotForDispatch(absl::FunctionRef<std::optional<ReadyTask>(size_t)> ready_at,
                                       bool may_start_worker) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
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
  void ServeBlockedWorkers(bool expire) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SpawnWorker() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends what the workers' outboxes hold.
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
  const DispatchPolicy policy_;
  std::vector<WorkerView> worker_views_ ABSL_GUARDED_BY(mu_);  // reused by SnapshotForDispatch
  double cpus_free_ ABSL_GUARDED_BY(mu_);
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
