// The runtime inside a worker process (internal to ray/core_worker): the loop that takes tasks
// from the scheduler's socket and runs them (worker.cc), and the API's calls made inside a task
// (worker_calls.cc: nested tasks, Put, Get, Wait, references), which go to the scheduler through
// the same socket. An actor with max_concurrency > 1 runs its calls on threads of their own
// (worker_threads.cc); an actor whose calls end after their invoker returned holds them open
// (worker_deferred.cc).
#pragma once

#include <capnp/message.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <memory>
#include <thread>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ray/core_worker/call_threads.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/limits.h"
#include "ray/core_worker/new_object.h"
#include "ray/core_worker/stored_objects.h"
#include "ray/core_worker/task_returns.h"
#include "ray/core_worker/worker.h"
#include "ray/core_worker/worker_outbox.h"
#include "ray/faults/fault_injection.h"
#include "ray/function/function_table.h"
#include "ray/node/crash_report.h"
#include "ray/object/object_format.h"
#include "ray/object/status.h"
#include "ray/rpc/message_stream.h"
#include "ray/rpc/worker.capnp.h"
#include "ray/rpc/worker_messages.h"
#include "ray/store/client.h"

namespace ray::core::worker_internal {

// How long a worker polls for its next message before it sleeps.
constexpr absl::Duration kSpin = absl::Microseconds(50);
// Results of short tasks go to the scheduler in batches of up to this many, and none waits
// longer than kMaxResultDelay (see Serve).
constexpr size_t kResultBatch = 16;
constexpr absl::Duration kMaxResultDelay = absl::Microseconds(200);
// A task's arguments in the store were sealed before the scheduler dispatched it, or their
// seal is on its way: waiting this long for one means something broke.
constexpr absl::Duration kArgumentSealTimeout = absl::Minutes(1);
// While it holds tasks, a worker sends at least a message this often (a heartbeat if nothing
// else): the scheduler takes a worker silent for its stall timeout for stalled.
constexpr absl::Duration kHeartbeatInterval = absl::Seconds(1);

// What a worker's calls return when the scheduler's socket broke.
inline absl::Status ConnectionClosed() {
  return absl::UnavailableError("the scheduler's connection is closed");
}

inline int64_t TimeoutMs(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return -1;
  return std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout));
}

class WorkerRuntime final : public CoreRuntime {
 public:
  WorkerRuntime(int fd, std::unique_ptr<store::StoreClient> store, RemoteWorkerOptions remote)
      : stream_(fd, rpc::MAX_FRAME_BYTES), store_(std::move(store)), remote_(std::move(remote)) {}
  ~WorkerRuntime() override {
    StopCallThreads();
    if (client_reader_.joinable()) client_reader_.join();
    {
      absl::MutexLock lock(&out_mu_);
      stopping_ = true;
      flush_cv_.Signal();
    }
    if (flusher_.joinable()) flusher_.join();
  }

  int Serve();
  // Makes this runtime a client of the scheduler (FromWorker.client) rather than a worker: it
  // runs no task; the tasks it submits are of job `job`, and a thread of its own reads the
  // socket, so that any thread may call it. Argument values go inline (the scheduler's workers
  // cannot read this node's store). Returns once the first message went out.
  absl::Status StartClient(uint32_t job);
  // A client's calls return now (ConnectionClosed), and so do later ones.
  void StopClient() { StopCallThreads(); }
  // Whether a client's connection closed (the scheduler is gone, or StopClient).
  bool ClientClosed() {
    absl::MutexLock lock(&out_mu_);
    return connection_closed_;
  }

  absl::StatusOr<std::vector<ObjectID>> Submit(TaskSpec spec) override;
  // Submit of a function described already (`spec.invoker` and `spec.function` unused).
  absl::StatusOr<std::vector<ObjectID>> SubmitDescribed(uint64_t key, const FunctionRecord& record,
                                                        TaskSpec spec);
  absl::Status KillActor(const ObjectID& actor, bool no_restart) override;
  absl::Status ActorExiting(const ObjectID& actor) override;
  absl::StatusOr<std::optional<NamedActor>> LookupActor(const std::string& name) override;
  absl::StatusOr<ObjectID> Put(size_t size, absl::FunctionRef<void(std::span<uint8_t>)> write,
                               const PutOptions& options) override {
    return PutValue(size, write, options, /*inline_ok=*/size <= kInlineLimit);
  }
  absl::StatusOr<std::vector<ObjectValue>> Get(std::span<const ObjectID> ids,
                                               absl::Duration timeout) override;
  absl::StatusOr<WaitIndices> Wait(std::span<const ObjectID> ids, size_t num_returns,
                                   absl::Duration timeout) override;
  void AddRef(const ObjectID& id) override;
  void RemoveRef(const ObjectID& id) override;
  TaskID CurrentTaskId() const override {
    if (running_ != nullptr) return running_->id;
    absl::MutexLock lock(&current_mu_);
    return current_task_;
  }

 private:
  // The task a call thread runs (worker_threads.cc): nested tasks and puts name it.
  struct RunningTask {
    TaskID id;
    uint32_t puts = 0;
  };
  static thread_local RunningTask* running_;
  ObjectID NextPutId(bool hidden);
  void AddRefLocked(const ObjectID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(out_mu_);
  void RemoveRefLocked(const ObjectID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(out_mu_);
  // A client's task arguments: values only, kMaxClientArgBytes at most (no ID is stored).
  static absl::StatusOr<std::vector<ObjectID>> CheckClientArgs(std::span<const TaskArg> args);
  static constexpr uint64_t kMaxClientArgBytes = rpc::MAX_FRAME_BYTES / 2;
  // A put: inline (sent to the scheduler) if `inline_ok`, else into the store.
  absl::StatusOr<ObjectID> PutValue(size_t size, absl::FunctionRef<void(std::span<uint8_t>)> write,
                                    const PutOptions& options, bool inline_ok);
  struct QueuedTask {
    std::shared_ptr<ReceivedMessage> message;  // keeps the task's bytes alive
    TaskView task;
  };
  // Reads messages, queueing tasks; while blocked (`blocked`), tasks are handed back. A
  // malformed message is an error, as a closed socket.
  absl::Status Receive(absl::Duration timeout, bool blocked);
  // While blocked in a get or wait: receives, runs the tasks given to run meanwhile, and sends
  // what is due. Returns false if the scheduler's connection closed.
  bool ReceiveWhileBlocked();
  absl::Status Accept(std::shared_ptr<ReceivedMessage> message, bool blocked);
  // Accepts each message that `read(handle)` (a read of the stream) hands out; the read's error,
  // else that of the first message that did not decode (the messages after it are dropped).
  template <typename Read>
  absl::Status AcceptAll(Read read, bool blocked);
  // Gives the tasks not started yet back to the scheduler (in the next message); an actor's
  // worker keeps its calls (they are its alone).
  void HandBackQueue() {
    absl::MutexLock lock(&out_mu_);
    if (serves_actor_) return;
    for (const QueuedTask& t : queue_) {
      out_.handed_back.push_back(t.task.header.id);
    }
    tasks_held_ -= queue_.size();
    queue_.clear();
  }
  // What a call's end records (Execute, and a deferred call's Finish).
  struct CallEnd {
    TaskID id;
    std::string name;
    size_t num_returns;
    absl::Time started;
  };
  // Runs a task and adds its results to the outbox (unless its invoker deferred it).
  void Execute(const QueuedTask& queued);
  // After the invoker: checks and seals the returns; the serialized error if the call failed.
  std::string SealOrError(absl::Status status, const CallEnd& call, TaskReturns& returns);
  // Adds the call's result (or `error`) to the outbox: the call is done.
  void RecordDone(const CallEnd& call, TaskReturns& returns, const std::string& error)
      ABSL_LOCKS_EXCLUDED(out_mu_);
  // Copies each of `objects` into this node's store, side by side, and tells the scheduler of
  // each copy (it frees the copy with the object). NotFound (ObjectLostError) for the first
  // that fails, as a missing object is.
  absl::Status CopyHere(std::span<const object_manager::ObjectSource> objects, bool for_get)
      ABSL_LOCKS_EXCLUDED(out_mu_);
  // Reads the task's arguments and runs its function, which writes `returns`; how it failed.
  // `deferrable`: the call's invoker may defer it (DeferRunningCall).
  absl::Status Run(const QueuedTask& queued, const ResolvedFunction* function,
                   ReturnWriter& returns, DeferrableCall* deferrable = nullptr);
  // Sends the outbox (and `extra`) and waits until the socket took it.
  absl::Status Send(std::function<void(rpc::FromWorker::Builder)> extra = nullptr)
      ABSL_LOCKS_EXCLUDED(out_mu_) {
    absl::MutexLock lock(&out_mu_);
    return SendLocked(std::move(extra));
  }
  // `fault_point` names the message for fault injection; a message with results is always
  // "worker.send_results".
  absl::Status SendLocked(std::function<void(rpc::FromWorker::Builder)> extra = nullptr,
                          const char* fault_point = nullptr) ABSL_EXCLUSIVE_LOCKS_REQUIRED(out_mu_);
  // After a task: its results go out now if the batch is full or no task is queued; else they
  // wait for the next results, and the flusher sends them if kMaxResultDelay passes first.
  absl::Status SendOrDefer() ABSL_LOCKS_EXCLUDED(out_mu_);
  // The flusher thread: sends results that waited kMaxResultDelay while the next task runs, and
  // a heartbeat when the worker holds tasks and sent nothing for kHeartbeatInterval.
  void FlushLoop() ABSL_LOCKS_EXCLUDED(out_mu_);
  const ResolvedFunction* Function(uint64_t key) ABSL_LOCKS_EXCLUDED(functions_mu_);
  // A blocking request's reply, as it comes (a get's over one or more messages).
  struct ReplyObject {
    ObjectView object;
    std::shared_ptr<ReceivedMessage> message;  // holds its bytes
  };
  struct Reply {
    std::vector<ReplyObject> objects;  // a get's
    std::optional<std::string> get_failed;
    std::optional<std::vector<ObjectID>> ready;  // a wait's
    std::optional<NamedActor> actor;             // a lookup's (nil id: none)
  };
  // Sends a blocking request (get, wait, lookup) that `write` adds to the message with the ID it
  // is given, and waits for its reply until `complete` says it is all there: on the task thread
  // by reading the socket (ReceiveWhileBlocked), on a call thread or a client's until the thread
  // that reads the socket hands it over (Accept). Any number of threads may each wait for their
  // own. Nullopt if the scheduler's connection closed.
  std::optional<Reply> Request(absl::FunctionRef<void(rpc::FromWorker::Builder, RequestId)> write,
                               absl::FunctionRef<bool(const Reply&)> complete)
      ABSL_LOCKS_EXCLUDED(out_mu_);

  // Call threads (worker_threads.cc). After the creation of an actor with max_concurrency > 1,
  // this thread reads the socket and up to `threads` call threads run the calls.
  int ServeOnThreads(int threads);
  void CallThread() ABSL_LOCKS_EXCLUDED(out_mu_);
  // Starts call threads while queued calls outnumber idle ones (up to max_threads_).
  void AddCallThreads() ABSL_EXCLUSIVE_LOCKS_REQUIRED(out_mu_);
  // No call starts any more; the reader thread stops reading. Joins the call threads unless
  // called on one.
  void StopCallThreads() ABSL_LOCKS_EXCLUDED(out_mu_);

  // Deferred calls (worker_deferred.cc), of an actor whose creation said its calls defer: the
  // reader thread starts calls itself, up to max_threads_ open at once; the invoker takes its call
  // (CallToDefer), and whoever holds it finishes it (OpenCall) from any thread.
  class OpenCall;
  // Outlives the runtime: a call finished after the worker stopped serving finds it detached.
  struct OpenCallsLink {
    absl::Mutex mu;  // held shared while an OpenCall uses the runtime
    WorkerRuntime* runtime ABSL_GUARDED_BY(mu) = nullptr;
  };
  // Set around the invoker of a call that may defer (Execute): Defer() moves its returns into an
  // OpenCall.
  class CallToDefer final : public DeferrableCall {
   public:
    CallToDefer(WorkerRuntime& r, const CallEnd& call, TaskReturns& returns)
        : r_(r), call_(call), returns_(returns) {}
    std::unique_ptr<DeferredCall> Defer() override;
    bool deferred = false;

   private:
    WorkerRuntime& r_;
    const CallEnd& call_;
    TaskReturns& returns_;
  };
  // Starts queued calls (in order, one thread at a time: a thread that finds another at it
  // leaves the starts to that one) while fewer than max_threads_ are open, none after
  // ray::ExitActor; sends the results of those that ended at once.
  void StartQueuedCalls() ABSL_LOCKS_EXCLUDED(out_mu_, start_mu_);
  // A deferred call ended: its result into the outbox (sent at the next flush or by the flusher).
  void FinishOpenCall(OpenCall& call, absl::FunctionRef<absl::Status(ReturnWriter&)> write)
      ABSL_LOCKS_EXCLUDED(out_mu_);
  // Sends what finished; after ray::ExitActor, stops serving once no call is open; else starts
  // queued calls.
  void FlushOpenCalls() ABSL_LOCKS_EXCLUDED(out_mu_);
  // When the worker stops serving: open calls drop their returns and finish as no-ops.
  void DetachOpenCalls() ABSL_LOCKS_EXCLUDED(out_mu_);

  MessageStream stream_;
  bool client_ = false;        // StartClient: set before any call, then read only
  std::thread client_reader_;  // a client's: reads the socket until it closes
  std::unique_ptr<store::StoreClient> store_;
  const RemoteWorkerOptions remote_;
  // Call threads share the function tables. Taken inside out_mu_ (a function's first submit),
  // never around it.
  absl::Mutex functions_mu_ ABSL_ACQUIRED_AFTER(out_mu_);
  absl::flat_hash_map<uint64_t, FunctionRecord> defined_ ABSL_GUARDED_BY(functions_mu_);
  // Node-based: a call thread holds its function while another resolves one.
  absl::node_hash_map<uint64_t, ResolvedFunction> resolved_ ABSL_GUARDED_BY(functions_mu_);
  absl::flat_hash_set<uint64_t> functions_sent_ ABSL_GUARDED_BY(out_mu_);  // in the outbox once
  std::deque<QueuedTask> queue_;
  // Tasks the scheduler gave this worker to run inside a get or wait it is blocked in (all
  // other workers busy or blocked, and no more may start): run there, nested.
  std::deque<QueuedTask> run_while_blocked_;
  absl::flat_hash_map<ObjectID, int64_t> refs_ ABSL_GUARDED_BY(out_mu_);
  // The running task, set by the task thread; with call threads (running_ set on each), what
  // threads a call starts name: the actor's creation. Threads a task started read it (their
  // puts are named by it), so the ID and its count of puts change together, under a lock: a
  // put must never pair one task's ID with another's count.
  mutable absl::Mutex current_mu_;
  TaskID current_task_ ABSL_GUARDED_BY(current_mu_);
  uint32_t puts_in_task_ ABSL_GUARDED_BY(current_mu_) = 0;
  bool serves_actor_ = false;  // it ran an actor's creation
  // Call threads: set before they start, then read only.
  bool threaded_ = false;
  bool defers_calls_ = false;  // the actor's calls defer: no call threads
  absl::Mutex start_mu_;       // one thread starts calls at a time (in order)
  bool starts_wanted_ ABSL_GUARDED_BY(out_mu_) = false;  // StartQueuedCalls since the last look
  absl::flat_hash_set<OpenCall*> open_ ABSL_GUARDED_BY(out_mu_);  // deferred, not finished
  std::shared_ptr<OpenCallsLink> open_link_ = std::make_shared<OpenCallsLink>();
  int max_threads_ = 0;
  std::vector<std::thread> call_threads_;  // joined by the reader thread
  int idle_threads_ ABSL_GUARDED_BY(out_mu_) = 0;
  bool calls_stopped_ ABSL_GUARDED_BY(out_mu_) = false;
  bool connection_closed_ ABSL_GUARDED_BY(out_mu_) = false;  // seen by the reader thread
  absl::CondVar calls_cv_;                                   // a call queued, or calls stopped
  absl::CondVar reply_cv_;  // a reply came, or the connection closed
  // The outbox and the stream's sending side are shared with the flusher thread (and the call
  // threads, as what is guarded here); everything else belongs to the thread that runs tasks.
  absl::Mutex out_mu_;
  WorkerOutbox out_ ABSL_GUARDED_BY(out_mu_);
  absl::Time unsent_since_ ABSL_GUARDED_BY(out_mu_) = absl::InfiniteFuture();  // oldest result
  absl::Time last_sent_ ABSL_GUARDED_BY(out_mu_) = absl::Now();
  // Tasks received and not yet done nor handed back: while there are any, heartbeats go out.
  size_t tasks_held_ ABSL_GUARDED_BY(out_mu_) = 0;
  bool flusher_asleep_ ABSL_GUARDED_BY(out_mu_) = false;  // with no deadline
  bool stopping_ ABSL_GUARDED_BY(out_mu_) = false;
  absl::CondVar flush_cv_;
  std::thread flusher_;
  // The replies of the requests in flight, by request ID: an entry from when a request goes out
  // until its thread takes the reply (a reply to no entry is dropped).
  absl::flat_hash_map<RequestId, Reply> replies_ ABSL_GUARDED_BY(out_mu_);
  RequestId last_request_ ABSL_GUARDED_BY(out_mu_) = 0;
};

}  // namespace ray::core::worker_internal
