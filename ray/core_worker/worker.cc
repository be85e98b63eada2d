#include "ray/core_worker/worker.h"

#include <capnp/message.h>
#include <cxxabi.h>
#include <unistd.h>

#include <deque>
#include <exception>
#include <memory>
#include <thread>
#include <typeinfo>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ray/common/capnp_bytes.h"
#include "ray/common/capnp_ids.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/task_returns.h"
#include "ray/core_worker/worker_outbox.h"
#include "ray/faults/fault_injection.h"
#include "ray/function/function_table.h"
#include "ray/node/crash_report.h"
#include "ray/object/errors.h"
#include "ray/object/serialization.h"
#include "ray/rpc/message_stream.h"
#include "ray/rpc/worker.capnp.h"
#include "ray/store/client.h"

namespace ray::core {
namespace {

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

// Throws if a request or a value would carry more IDs than a message may (see worker.capnp).
void CheckIdCount(size_t count, const char* what) {
  if (count > rpc::MAX_IDS_PER_LIST) {
    throw RayError(absl::StrCat(what, " takes at most ", rpc::MAX_IDS_PER_LIST,
                                " objects inside a task (", count, " given)"));
  }
}

int64_t TimeoutMs(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return -1;
  return std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout));
}

class WorkerRuntime final : public CoreRuntime {
 public:
  WorkerRuntime(int fd, std::unique_ptr<store::StoreClient> store)
      : stream_(fd, rpc::MAX_FRAME_BYTES), store_(std::move(store)) {}
  ~WorkerRuntime() override {
    {
      absl::MutexLock lock(&out_mu_);
      stopping_ = true;
      flush_cv_.Signal();
    }
    if (flusher_.joinable()) flusher_.join();
  }

  int Serve();

  std::vector<ObjectID> Submit(TaskSpec spec) override;
  ObjectID Put(size_t size, absl::FunctionRef<void(std::span<uint8_t>)> write,
               const PutOptions& options) override {
    return PutValue(size, write, options, /*inline_ok=*/size <= kInlineLimit);
  }
  std::vector<ObjectValue> Get(std::span<const ObjectID> ids, absl::Duration timeout) override;
  WaitResult Wait(std::span<const ObjectID> ids, size_t num_returns,
                  absl::Duration timeout) override;
  void AddRef(const ObjectID& id) override;
  void RemoveRef(const ObjectID& id) override;
  TaskID CurrentTaskId() const override { return current_task_; }

 private:
  void RemoveRefLocked(const ObjectID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(out_mu_);
  // A put: inline (sent to the scheduler) if `inline_ok`, else into the store.
  ObjectID PutValue(size_t size, absl::FunctionRef<void(std::span<uint8_t>)> write,
                    const PutOptions& options, bool inline_ok);
  struct QueuedTask {
    std::shared_ptr<ReceivedMessage> message;  // keeps the task's bytes alive
    rpc::Task::Reader task;
  };
  // Reads messages, queueing tasks; while blocked (`blocked`), tasks are handed back.
  absl::Status Receive(absl::Duration timeout, bool blocked);
  // While blocked in a get or wait: receives, runs the tasks given to run meanwhile, and sends
  // what is due. Returns false if the scheduler's connection closed.
  bool ReceiveWhileBlocked();
  void Accept(std::shared_ptr<ReceivedMessage> message, bool blocked);
  // Gives the tasks not started yet back to the scheduler (in the next message).
  void HandBackQueue() {
    absl::MutexLock lock(&out_mu_);
    for (const QueuedTask& t : queue_) {
      out_.handed_back.push_back(TaskID::FromBinary(AsView(t.task.getTaskId())));
    }
    tasks_held_ -= queue_.size();
    queue_.clear();
  }
  // Runs a task and adds its results to the outbox.
  void Execute(const QueuedTask& queued);
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
  const ResolvedFunction* Function(uint64_t key);

  MessageStream stream_;
  std::unique_ptr<store::StoreClient> store_;
  absl::flat_hash_map<uint64_t, FunctionRecord> defined_;
  absl::flat_hash_map<uint64_t, ResolvedFunction> resolved_;
  absl::flat_hash_set<uint64_t> functions_sent_;
  std::deque<QueuedTask> queue_;
  // Tasks the scheduler gave this worker to run inside a get or wait it is blocked in (all
  // other workers busy or blocked, and no more may start): run there, nested.
  std::deque<QueuedTask> run_while_blocked_;
  absl::flat_hash_map<ObjectID, int64_t> refs_;
  TaskID current_task_;
  uint32_t puts_in_task_ = 0;
  // The outbox and the stream's sending side are shared with the flusher thread; everything
  // else belongs to the thread that runs tasks.
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
  // Replies to a blocking request. A reply to a get may come in several messages.
  struct ReplyObject {
    ObjectID id;
    rpc::Object::Reader object;
    std::shared_ptr<ReceivedMessage> message;  // holds its bytes
  };
  std::optional<std::vector<ReplyObject>> objects_reply_;
  std::optional<std::string> get_failed_;
  std::optional<std::vector<ObjectID>> ready_reply_;
};

absl::Status WorkerRuntime::SendLocked(std::function<void(rpc::FromWorker::Builder)> extra,
                                       const char* fault_point) {
  unsent_since_ = absl::InfiniteFuture();
  if (out_.empty() && extra == nullptr) return absl::OkStatus();
  last_sent_ = absl::Now();
  if (!out_.done.empty()) fault_point = "worker.send_results";
  faults::Action fault = fault_point != nullptr ? faults::At(fault_point) : faults::Action::kNone;
  if (fault == faults::Action::kKill) {
    (void)store_->Flush();  // the results in the store are sealed there: then die
    faults::Kill();
  }
  out_.QueueOn(stream_, extra, fault);
  return stream_.FlushBlocking();
}

absl::Status WorkerRuntime::SendOrDefer() {
  absl::MutexLock lock(&out_mu_);
  if (queue_.empty() || out_.done.size() >= kResultBatch) return SendLocked();
  if (unsent_since_ == absl::InfiniteFuture()) {
    unsent_since_ = absl::Now();
    flush_cv_.Signal();
  }
  return absl::OkStatus();
}

void WorkerRuntime::FlushLoop() {
  absl::MutexLock lock(&out_mu_);
  while (!stopping_) {
    // A failed send shows in the task thread's next read or send.
    absl::Time now = absl::Now();
    if (now >= unsent_since_ + kMaxResultDelay) {
      (void)SendLocked();
    } else if (tasks_held_ > 0 && now >= last_sent_ + kHeartbeatInterval) {
      (void)SendLocked([](rpc::FromWorker::Builder) {}, "worker.heartbeat");
    } else {
      // While the worker sends (even without tasks now), this wakes a second after the last
      // message; only a worker quiet for that long sleeps until a task or a result wakes it,
      // so that a worker running short tasks one by one is not woken for each.
      absl::Time heartbeat_due = last_sent_ + kHeartbeatInterval;
      absl::Time due = std::min(unsent_since_ + kMaxResultDelay,
                                now < heartbeat_due ? heartbeat_due : absl::InfiniteFuture());
      flusher_asleep_ = due == absl::InfiniteFuture();
      flush_cv_.WaitWithDeadline(&out_mu_, due);
      flusher_asleep_ = false;
    }
  }
}

void WorkerRuntime::Accept(std::shared_ptr<ReceivedMessage> message, bool blocked) {
  auto in = message->Root<rpc::ToWorker>();
  for (auto def : in.getFunctions()) {
    defined_.try_emplace(
        def.getKey(), FunctionRecord{std::string(AsView(def.getInvoker())),
                                     std::string(AsView(def.getFunction())), def.getName().cStr()});
  }
  for (auto task : in.getTasks()) {
    absl::MutexLock lock(&out_mu_);
    if (task.getRunWhileBlocked()) {
      run_while_blocked_.push_back({message, task});
    } else if (blocked) {
      out_.handed_back.push_back(TaskID::FromBinary(AsView(task.getTaskId())));
      continue;
    } else {
      queue_.push_back({message, task});
    }
    if (tasks_held_++ == 0 && flusher_asleep_) flush_cv_.Signal();  // heartbeats are due
  }
  if (in.getObjects().size() > 0) {
    if (!objects_reply_) objects_reply_.emplace();
    for (auto object : in.getObjects()) {
      objects_reply_->push_back(
          {ObjectID::FromBinaryOrNil(AsView(object.getId())), object, message});
    }
  }
  if (in.getReturnQueued()) HandBackQueue();
  if (in.hasGetFailed()) get_failed_ = in.getGetFailed().cStr();
  if (in.hasReady()) {
    ready_reply_.emplace();
    for (auto raw : in.getReady()) ready_reply_->push_back(ObjectID::FromBinaryOrNil(AsView(raw)));
  }
}

absl::Status WorkerRuntime::Receive(absl::Duration timeout, bool blocked) {
  // Spin briefly first: in a request/reply rhythm the next message comes within tens of
  // microseconds, and on this kind of machine a sleep and wake-up costs about as much.
  return stream_.ReadBlocking(
      timeout,
      [&](std::unique_ptr<ReceivedMessage> m) {
        Accept(std::shared_ptr<ReceivedMessage>(std::move(m)), blocked);
      },
      kSpin);
}

bool WorkerRuntime::ReceiveWhileBlocked() {
  if (!Receive(absl::InfiniteDuration(), /*blocked=*/true).ok()) return false;
  while (!run_while_blocked_.empty()) {
    QueuedTask task = std::move(run_while_blocked_.front());
    run_while_blocked_.pop_front();
    Execute(task);  // nested: it may block in a get of its own, and so on
    if (!Send().ok()) return false;
  }
  return Send().ok();  // the tasks handed back, if any
}

const ResolvedFunction* WorkerRuntime::Function(uint64_t key) {
  if (auto it = resolved_.find(key); it != resolved_.end()) return &it->second;
  auto def = defined_.find(key);
  if (def == defined_.end()) return nullptr;
  auto resolved = ResolveTaskFunction(def->second);
  if (!resolved.ok()) return nullptr;
  return &resolved_.emplace(key, *std::move(resolved)).first->second;
}

void WorkerRuntime::Execute(const QueuedTask& queued) {
  const absl::Time started = absl::Now();
  rpc::Task::Reader task = queued.task;
  TaskID id = TaskID::FromBinary(AsView(task.getTaskId()));
  size_t num_returns = task.getNumReturns();
  const ResolvedFunction* function = Function(task.getFunction());
  std::string name = task.hasName()        ? std::string(task.getName().cStr())
                     : function != nullptr ? function->name
                                           : "unknown function";
  RunningTaskForCrashReport crash_report(name, id, task.getMaxRetries());
  std::string error;
  TaskReturns returns(*store_, id, num_returns);
  try {
    if (function == nullptr) {
      auto def = defined_.find(task.getFunction());
      throw std::runtime_error(
          def == defined_.end() ? std::string("the scheduler sent a task for an undefined function")
                                : std::string(ResolveTaskFunction(def->second).status().message()));
    }
    std::vector<ObjectValue> args;
    std::vector<ObjectID> store_refs;
    for (auto arg : task.getArgs()) {
      if (arg.isValue()) {
        args.push_back({AsSpan(arg.getValue()), queued.message});
      } else {
        args.emplace_back();
        store_refs.push_back(ObjectID::FromBinaryOrNil(AsView(arg.getRef())));
      }
    }
    if (!store_refs.empty()) {
      // They exist (the scheduler dispatches a task once its arguments do): a seal may still
      // be on its way, a missing one is gone (ObjectLostError).
      auto buffers =
          store_->Get(store_refs, kArgumentSealTimeout, store::StoreClient::IfAbsent::kFail);
      size_t next = 0;
      for (size_t a = 0; a < args.size(); ++a) {
        if (!task.getArgs()[a].isRef()) continue;
        auto& buffer = buffers[next++];
        if (!buffer.ok()) {
          ThrowStoreReadError(buffer.status(),
                              ObjectID::FromBinaryOrNil(AsView(task.getArgs()[a].getRef())));
        }
        auto owner = std::make_shared<store::ObjectBuffer>(*std::move(buffer));
        args[a] = {owner->span(), owner};
      }
    }
    TaskID previous = std::exchange(current_task_, id);
    uint32_t previous_puts = std::exchange(puts_in_task_, 0);
    try {
      function->invoker(function->function, args, returns);
    } catch (...) {
      current_task_ = previous;
      puts_in_task_ = previous_puts;
      throw;
    }
    current_task_ = previous;
    puts_in_task_ = previous_puts;
    if (!returns.AllWritten()) throw std::runtime_error("the task did not write all its returns");
  } catch (...) {
    // Keeps a propagated TaskError as it was: the error names the task that failed first.
    error = SerializeError(CurrentExceptionErrorInfo(name, id));
  }
  absl::MutexLock lock(&out_mu_);
  auto orphan = out_.arena->getOrphanage().newOrphan<rpc::TaskDone>();
  auto done = orphan.get();
  done.setTaskId(AsData(id.Binary()));
  done.setStartedNs(absl::ToUnixNanos(started));
  done.setFinishedNs(absl::ToUnixNanos(absl::Now()));
  auto list = done.initReturns(num_returns);
  if (error.empty()) {
    returns.Finish(list);
  } else {
    returns.FinishWithError(list, error);
  }
  out_.done.push_back(kj::mv(orphan));
  tasks_held_ -= 1;
}

int WorkerRuntime::Serve() {
  if (!Send([](rpc::FromWorker::Builder b) { b.setPid(getpid()); }).ok()) return 1;
  flusher_ = std::thread([this] { FlushLoop(); });
  while (true) {
    if (!Receive(absl::InfiniteDuration(), /*blocked=*/false).ok()) return 0;  // socket closed
    while (!queue_.empty()) {
      QueuedTask next = std::move(queue_.front());
      queue_.pop_front();
      Execute(next);
      // Short tasks' results go out in batches (one message, one wake-up of the scheduler for
      // many), but a result never waits for the next task to end: the flusher thread sends it
      // after kMaxResultDelay at the latest.
      if (!SendOrDefer().ok()) return 0;
      // Between tasks, take what the scheduler sent meanwhile (it may want queued tasks back).
      absl::Status read = stream_.ReadAvailable([&](std::unique_ptr<ReceivedMessage> m) {
        Accept(std::shared_ptr<ReceivedMessage>(std::move(m)), /*blocked=*/false);
      });
      if (!read.ok()) return 0;
    }
    if (!Send().ok()) return 0;  // e.g. the queue handed back on the scheduler's request
  }
}

std::vector<ObjectID> WorkerRuntime::Submit(TaskSpec spec) {
  auto described = DescribeTaskFunction(spec.invoker, spec.function);
  if (!described.ok()) throw std::runtime_error(std::string(described.status().message()));
  uint64_t key = described->key;
  bool first_use = functions_sent_.insert(key).second;
  if (first_use) defined_.try_emplace(key, *described->record);
  CheckIdCount(spec.args.size() + spec.nested_refs.size(), "a task submitted");
  // Large argument values, and those past the task's inline budget, go through the store,
  // before the task message is built.
  std::vector<ObjectID> stored(spec.args.size());
  InlineBudget inline_budget;
  for (size_t i = 0; i < spec.args.size(); ++i) {
    const TaskArg& arg = spec.args[i];
    if (!arg.ref.IsNil() || inline_budget.Take(arg.value.size())) continue;
    stored[i] = PutValue(
        arg.value.size(),
        [&](std::span<uint8_t> out) {
          std::memcpy(out.data(), arg.value.data(), arg.value.size());
        },
        {}, /*inline_ok=*/false);
  }
  TaskID id = TaskID::FromRandom();
  absl::MutexLock lock(&out_mu_);
  if (first_use) out_.functions.emplace_back(key, *described->record);
  auto orphan = out_.arena->getOrphanage().newOrphan<rpc::Task>();
  auto task = orphan.get();
  task.setTaskId(AsData(id.Binary()));
  task.setParentTaskId(AsData(current_task_.Binary()));
  task.setFunction(key);
  task.setNumReturns(spec.options.num_returns);
  task.setNumCpus(spec.options.num_cpus);
  task.setMaxRetries(spec.options.max_retries);
  if (!spec.options.name.empty()) task.setName(spec.options.name);
  if (!spec.nested_refs.empty())
    WriteIds(task.initNestedRefs(spec.nested_refs.size()), spec.nested_refs);
  auto args = task.initArgs(spec.args.size());
  for (size_t i = 0; i < spec.args.size(); ++i) {
    const TaskArg& arg = spec.args[i];
    if (!stored[i].IsNil()) {
      args[i].setRef(AsData(stored[i].Binary()));
    } else if (arg.ref.IsNil()) {
      args[i].setValue(AsData(arg.value));
    } else {
      args[i].setRef(AsData(arg.ref.Binary()));
    }
  }
  out_.submits.push_back(kj::mv(orphan));
  std::vector<ObjectID> returns;
  for (int i = 1; i <= spec.options.num_returns; ++i) {
    returns.push_back(ObjectID::ForReturn(id, i));
    refs_[returns.back()] += 1;  // the adopted reference (see core_runtime.h)
  }
  for (const ObjectID& put : stored) {
    if (!put.IsNil()) RemoveRefLocked(put);  // the task keeps it meanwhile
  }
  if (!SendLocked().ok()) throw std::runtime_error("the scheduler's connection is closed");
  return returns;
}

ObjectID WorkerRuntime::PutValue(size_t size, absl::FunctionRef<void(std::span<uint8_t>)> write,
                                 const PutOptions& options, bool inline_ok) {
  CheckIdCount(options.nested_refs.size(), "a put");
  ObjectID id = ObjectID::ForPut(current_task_, ++puts_in_task_, options.hidden);
  if (inline_ok) {
    std::string bytes(size, '\0');
    write({reinterpret_cast<uint8_t*>(bytes.data()), size});
    absl::MutexLock lock(&out_mu_);
    out_.put_bytes += size;
    out_.puts.push_back({id, std::move(bytes), options.nested_refs});
    // A task that puts much before it sends anything: the puts go in batches (see SendLocked).
    if (out_.put_bytes >= rpc::BATCH_BYTES && !SendLocked().ok()) {
      throw std::runtime_error("the scheduler's connection is closed");
    }
  } else {
    auto object = CreateOrFindStored(*store_, id, size);
    if (!object.ok()) ThrowStoreError(object.status());
    uint64_t stored_size = size;
    if (auto* created = std::get_if<store::MutableObject>(&*object)) {
      write(created->span());
      (void)store_->Seal(std::move(*created));
    } else {
      stored_size = std::get<uint64_t>(*object);  // an earlier attempt of this task put it
    }
    absl::MutexLock lock(&out_mu_);
    out_.puts.push_back({id, stored_size, options.nested_refs});
  }
  refs_[id] += 1;
  return id;
}

std::vector<ObjectValue> WorkerRuntime::Get(std::span<const ObjectID> ids, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;  // an infinite timeout gives InfiniteFuture
  if (ids.size() > rpc::MAX_IDS_PER_LIST) {           // more than a request carries: in parts
    std::vector<ObjectValue> values;
    for (size_t from = 0; from < ids.size(); from += rpc::MAX_IDS_PER_LIST) {
      size_t count = std::min<size_t>(rpc::MAX_IDS_PER_LIST, ids.size() - from);
      auto part =
          Get(ids.subspan(from, count), std::max(deadline - absl::Now(), absl::ZeroDuration()));
      std::move(part.begin(), part.end(), std::back_inserter(values));
    }
    return values;
  }
  std::vector<ObjectValue> values(ids.size());
  std::vector<size_t> missing;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto local = store_->TryGet(ids[i]);
    if (local && local->ok()) {
      auto owner = std::make_shared<store::ObjectBuffer>(**std::move(local));
      values[i] = {owner->span(), owner};
    } else {
      missing.push_back(i);
    }
  }
  if (missing.empty()) return values;
  // Ask the scheduler; this task is blocked meanwhile and its CPUs go back to the pool, so the
  // tasks queued behind it go back too.
  HandBackQueue();
  absl::Status sent = Send([&](rpc::FromWorker::Builder b) {
    auto get = b.initGet();
    auto list = get.initIds(missing.size());
    for (size_t j = 0; j < missing.size(); ++j) list.set(j, AsData(ids[missing[j]].Binary()));
    get.setTimeoutMs(TimeoutMs(timeout));
  });
  if (!sent.ok()) throw std::runtime_error("the scheduler's connection is closed");
  objects_reply_.reset();
  get_failed_.reset();
  // The reply may come in several messages: one object per ID asked for.
  while (!get_failed_ && (!objects_reply_ || objects_reply_->size() < missing.size())) {
    if (!ReceiveWhileBlocked()) throw std::runtime_error("the scheduler's connection is closed");
  }
  // Taken, not left: a get suspended beneath this one (nested tasks) waits for its own reply.
  if (std::optional<std::string> failed = std::exchange(get_failed_, std::nullopt)) {
    objects_reply_.reset();
    throw GetTimeoutError(*failed);
  }
  absl::flat_hash_map<ObjectID, const ReplyObject*> reply;
  std::vector<ReplyObject> replied = *std::exchange(objects_reply_, std::nullopt);
  for (const ReplyObject& object : replied) reply.emplace(object.id, &object);
  std::vector<ObjectID> from_store;
  for (size_t i : missing) {
    auto it = reply.find(ids[i]);
    if (it == reply.end()) throw std::runtime_error("the scheduler's reply misses an object");
    if (it->second->object.isValue()) {
      values[i] = {AsSpan(it->second->object.getValue()), it->second->message};
    } else {
      from_store.push_back(ids[i]);
    }
  }
  if (!from_store.empty()) {
    // The rest of the timeout (each exists: a seal may still be on its way).
    absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
    auto buffers = store_->Get(from_store, left, store::StoreClient::IfAbsent::kFail);
    size_t next = 0;
    for (size_t i : missing) {
      if (reply.at(ids[i])->object.isValue()) continue;
      auto& buffer = buffers[next++];
      if (!buffer.ok()) ThrowStoreReadError(buffer.status(), ids[i]);
      auto owner = std::make_shared<store::ObjectBuffer>(*std::move(buffer));
      values[i] = {owner->span(), owner};
    }
  }
  return values;
}

WaitResult WorkerRuntime::Wait(std::span<const ObjectID> ids, size_t num_returns,
                               absl::Duration timeout) {
  CheckIdCount(ids.size(), "a wait");
  HandBackQueue();
  absl::Status sent = Send([&](rpc::FromWorker::Builder b) {
    auto wait = b.initWait();
    auto list = wait.initIds(ids.size());
    for (size_t j = 0; j < ids.size(); ++j) list.set(j, AsData(ids[j].Binary()));
    wait.setNumReturns(num_returns);
    wait.setTimeoutMs(TimeoutMs(timeout));
  });
  if (!sent.ok()) throw std::runtime_error("the scheduler's connection is closed");
  ready_reply_.reset();
  while (!ready_reply_) {
    if (!ReceiveWhileBlocked()) throw std::runtime_error("the scheduler's connection is closed");
  }
  absl::flat_hash_set<ObjectID> ready(ready_reply_->begin(), ready_reply_->end());
  ready_reply_.reset();  // taken (see Get)
  WaitResult result;
  for (size_t i = 0; i < ids.size(); ++i) {
    (ready.contains(ids[i]) && result.ready.size() < num_returns ? result.ready : result.not_ready)
        .push_back(i);
  }
  return result;
}

void WorkerRuntime::AddRef(const ObjectID& id) {
  if (refs_[id]++ == 0) {
    absl::MutexLock lock(&out_mu_);
    out_.add_refs.push_back(id);
  }
}

void WorkerRuntime::RemoveRef(const ObjectID& id) {
  absl::MutexLock lock(&out_mu_);
  RemoveRefLocked(id);
}

void WorkerRuntime::RemoveRefLocked(const ObjectID& id) {
  auto it = refs_.find(id);
  if (it == refs_.end()) return;
  if (--it->second == 0) {
    refs_.erase(it);
    out_.remove_refs.push_back(id);
  }
}

}  // namespace

int RunWorker(int scheduler_fd, const std::string& store_socket) {
  auto store = store::StoreClient::Connect(store_socket, {.name = "worker"});
  if (!store.ok()) {
    fprintf(stderr, "worker %d: %s\n", getpid(), store.status().ToString().c_str());
    return 1;
  }
  WorkerRuntime runtime(scheduler_fd, *std::move(store));
  SetCurrentRuntime(&runtime);
  int code = runtime.Serve();
  SetCurrentRuntime(nullptr);
  return code;
}

}  // namespace ray::core
