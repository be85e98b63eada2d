#include "ray/core_worker/worker.h"

#include <unistd.h>

#include <cstdio>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "ray/core_worker/actor_instance.h"
#include "ray/core_worker/call_threads.h"
#include "ray/core_worker/worker_runtime.h"

namespace ray::core {
namespace worker_internal {

thread_local WorkerRuntime::RunningTask* WorkerRuntime::running_ = nullptr;

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
      // A heartbeat its scheduler does not take: it dropped this worker (ray::Kill of an actor on
      // another node) or is gone, and nothing this process computes can reach it any more.
      if (!SendLocked([](rpc::FromWorker::Builder) {}, "worker.heartbeat").ok()) _exit(1);
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

absl::Status WorkerRuntime::Accept(std::shared_ptr<ReceivedMessage> message, bool blocked) {
  absl::StatusOr<ToWorkerView> read = ReadToWorker(message->Root<rpc::ToWorker>());
  if (!read.ok()) return read.status();
  const ToWorkerView& in = *read;
  if (!in.functions.empty()) {
    absl::MutexLock lock(&functions_mu_);
    for (const FunctionDef& def : in.functions) defined_.try_emplace(def.key, def.record);
  }
  for (const TaskView& task : in.tasks) {
    absl::MutexLock lock(&out_mu_);
    if (task.header.run_while_blocked) {
      run_while_blocked_.push_back({message, task});
    } else if (blocked && !serves_actor_) {
      out_.handed_back.push_back(task.header.id);
      continue;
    } else {
      queue_.push_back({message, task});
    }
    if (tasks_held_++ == 0 && flusher_asleep_) flush_cv_.Signal();  // heartbeats are due
  }
  if (in.return_queued) HandBackQueue();
  if (in.objects.empty() && !in.get_failed && !in.ready && !in.actor) return absl::OkStatus();
  absl::MutexLock lock(&out_mu_);  // a reply: the thread that asked waits for it (Request)
  auto asked = replies_.find(in.reply_to);
  if (asked == replies_.end()) return absl::OkStatus();  // no one waits for it any more
  Reply& reply = asked->second;
  for (const ObjectView& object : in.objects) reply.objects.push_back({object, message});
  if (in.get_failed) reply.get_failed = std::string(*in.get_failed);
  if (in.ready) reply.ready = in.ready->ToVector();
  if (in.actor) reply.actor = NamedActor{in.actor->id, std::string(in.actor->type)};
  reply_cv_.SignalAll();
  return absl::OkStatus();
}

template <typename Read>
absl::Status WorkerRuntime::AcceptAll(Read read, bool blocked) {
  absl::Status accepted = absl::OkStatus();
  absl::Status status = read([&](std::unique_ptr<ReceivedMessage> m) {
    if (accepted.ok()) accepted = Accept(std::shared_ptr<ReceivedMessage>(std::move(m)), blocked);
  });
  return status.ok() ? accepted : status;
}

absl::Status WorkerRuntime::Receive(absl::Duration timeout, bool blocked) {
  // Spin briefly first: in a request/reply rhythm the next message comes within tens of
  // microseconds, and on this kind of machine a sleep and wake-up costs about as much. Not in an
  // actor whose calls defer: there the spin takes a core from the thread that runs the calls.
  const absl::Duration spin = defers_calls_ ? absl::ZeroDuration() : kSpin;
  return AcceptAll([&](auto handle) { return stream_.ReadBlocking(timeout, handle, spin); },
                   blocked);
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
  absl::MutexLock lock(&functions_mu_);
  if (auto it = resolved_.find(key); it != resolved_.end()) return &it->second;
  auto def = defined_.find(key);
  if (def == defined_.end()) return nullptr;
  auto resolved = ResolveTaskFunction(def->second);
  if (!resolved.ok()) return nullptr;
  return &resolved_.emplace(key, *std::move(resolved)).first->second;
}

absl::Status WorkerRuntime::Run(const QueuedTask& queued, const ResolvedFunction* function,
                                ReturnWriter& returns, DeferrableCall* deferrable) {
  const TaskView& task = queued.task;
  if (function == nullptr) {
    absl::MutexLock lock(&functions_mu_);
    auto def = defined_.find(task.header.function);
    return absl::FailedPreconditionError(
        def == defined_.end() ? std::string("the scheduler sent a task for an undefined function")
                              : std::string(ResolveTaskFunction(def->second).status().message()));
  }
  std::vector<ObjectValue> args;
  std::vector<ObjectID> store_refs;
  std::vector<size_t> store_args;                    // their places in `args`
  std::vector<object_manager::ObjectSource> copies;  // those only other nodes hold
  for (const ArgView& arg : task.args) {
    if (arg.ref.IsNil()) {
      args.push_back(
          {{reinterpret_cast<const uint8_t*>(arg.value.data()), arg.value.size()}, queued.message});
    } else {
      store_args.push_back(args.size());
      args.emplace_back();
      store_refs.push_back(arg.ref);
      if (!arg.source.empty()) copies.push_back({arg.ref, std::string(arg.source)});
    }
  }
  if (absl::Status copied = CopyHere(copies, /*for_get=*/false); !copied.ok()) return copied;
  if (!store_refs.empty()) {
    // They exist (the scheduler dispatches a task once its arguments do): a seal may still
    // be on its way, a missing one is gone (NotFound).
    auto stored = ReadStoredObjects(*store_, store_refs, kArgumentSealTimeout);
    if (!stored.ok()) return stored.status();
    for (size_t k = 0; k < store_args.size(); ++k) args[store_args[k]] = std::move((*stored)[k]);
  }
  if (threaded_) {  // a call thread: its own running task
    RunningTask running{.id = task.header.id};
    running_ = &running;
    SetDeferrableCall(deferrable);
    absl::Cleanup restore = [] {
      running_ = nullptr;
      SetDeferrableCall(nullptr);
    };
    RunningCallScope on_this_thread;
    return function->invoker(function->function, args, returns);
  }
  // The running task while it runs: nested tasks and puts name it (restored on a throw too).
  // An actor's creation stays once it ran: what the process does outside a call (a thread a call
  // started, a coroutine) names it, its puts numbered on from the creation's own.
  auto swap_current = [this](TaskID id, uint32_t puts) {
    absl::MutexLock lock(&current_mu_);
    return std::pair(std::exchange(current_task_, id), std::exchange(puts_in_task_, puts));
  };
  absl::Cleanup restore = [swap_current, creation = task.header.creates_actor != nullptr,
                           previous = swap_current(task.header.id, 0)] {
    if (!creation) swap_current(previous.first, previous.second);
  };
  RunningCallScope on_this_thread;
  return function->invoker(function->function, args, returns);
}

void WorkerRuntime::Execute(const QueuedTask& queued) {
  const TaskView& task = queued.task;
  const ResolvedFunction* function = Function(task.header.function);
  CallEnd call{.id = task.header.id,
               .name = !task.header.name.empty() ? std::string(task.header.name)
                       : function != nullptr     ? function->name
                                                 : "unknown function",
               .num_returns = task.header.num_returns,
               .started = absl::Now()};
  RunningTaskForCrashReport crash_report(call.name, call.id,
                                         serves_actor_ || task.header.creates_actor
                                             ? RunningTaskForCrashReport::kActorDecides
                                             : task.header.max_retries);
  if (task.header.actor_restart) SetActorRestarted(true);
  if (task.header.creates_actor) serves_actor_ = true;
  TaskReturns returns(*store_, call.id, call.num_returns, [this](std::span<const ObjectID> ids) {
    absl::MutexLock lock(&out_mu_);
    for (const ObjectID& id : ids) AddRefLocked(id);
  });
  // An actor that defers its calls: the invoker may take this one (DeferRunningCall).
  std::optional<CallToDefer> deferrable;
  if (defers_calls_) deferrable.emplace(*this, call, returns);
  std::string error;
  try {
    absl::Status status = Run(queued, function, returns, deferrable ? &*deferrable : nullptr);
    if (deferrable && deferrable->deferred) return;  // it ends with its DeferredCall
    error = SealOrError(status, call, returns);
  } catch (...) {  // what an invoker let through
    if (deferrable && deferrable->deferred) return;
    error = SerializeError(CaughtExceptionErrorInfo(call.name, call.id));
  }
  RecordDone(call, returns, error);
}

std::string WorkerRuntime::SealOrError(absl::Status status, const CallEnd& call,
                                       TaskReturns& returns) {
  if (status.ok()) status = returns.CheckAllWritten();
  if (status.ok()) status = returns.Seal();
  // A status that carries an error object keeps it: it names the task that failed first.
  return status.ok() ? std::string() : SerializeError(TaskErrorInfoOf(status, call.name, call.id));
}

void WorkerRuntime::RecordDone(const CallEnd& call, TaskReturns& returns,
                               const std::string& error) {
  absl::MutexLock lock(&out_mu_);
  auto orphan = out_.arena->getOrphanage().newOrphan<rpc::TaskDone>();
  auto list = WriteTaskDone(orphan.get(), call.id, absl::ToUnixNanos(call.started),
                            absl::ToUnixNanos(absl::Now()), call.num_returns);
  if (error.empty()) {
    returns.Finish(list);
  } else {
    returns.FinishWithError(list, error);
  }
  out_.done.push_back(kj::mv(orphan));
  for (const ObjectID& id : returns.held()) RemoveRefLocked(id);  // after the end that names them
  tasks_held_ -= 1;
}

int WorkerRuntime::Serve() {
  auto hello = [this](rpc::FromWorker::Builder b) {
    b.setPid(getpid());
    if (!remote_.node_id.empty()) b.setNodeId(remote_.node_id);
  };
  if (!Send(hello).ok()) return 1;
  AllowDeferredCalls();  // an actor's creation may say that its calls defer
  flusher_ = std::thread([this] { FlushLoop(); });
  while (true) {
    if (!Receive(absl::InfiniteDuration(), /*blocked=*/false).ok()) return 0;  // socket closed
    while (!queue_.empty()) {
      QueuedTask next = std::move(queue_.front());
      queue_.pop_front();
      Execute(next);
      // An actor with max_concurrency > 1, or one whose creation said its calls defer.
      if (next.task.header.creates_actor &&
          (next.task.header.creates_actor->max_concurrency > 1 || ActorDefersCalls())) {
        return ServeOnThreads(next.task.header.creates_actor->max_concurrency);
      }
      if (ActorExitRequested()) {  // ray::ExitActor: this call was its last
        (void)Send();
        return 0;
      }
      // Short tasks' results go out in batches (one message, one wake-up of the scheduler for
      // many), but a result never waits for the next task to end: the flusher thread sends it
      // after kMaxResultDelay at the latest.
      if (!SendOrDefer().ok()) return 0;
      // Between tasks, take what the scheduler sent meanwhile (it may want queued tasks back).
      absl::Status read =
          AcceptAll([&](auto handle) { return stream_.ReadAvailable(handle); }, /*blocked=*/false);
      if (!read.ok()) return 0;
    }
    if (!Send().ok()) return 0;  // e.g. the queue handed back on the scheduler's request
  }
}

}  // namespace worker_internal

using worker_internal::WorkerRuntime;

int RunWorker(int scheduler_fd, const std::string& store_socket, RemoteWorkerOptions remote) {
  auto store = store::StoreClient::Connect(store_socket, {.name = "worker"});
  if (!store.ok()) {
    fprintf(stderr, "worker %d: %s\n", getpid(), store.status().ToString().c_str());
    return 1;
  }
  WorkerRuntime runtime(scheduler_fd, *std::move(store), std::move(remote));
  SetCurrentRuntime(&runtime);
  int code = runtime.Serve();
  EndActorInstance();  // an actor's destructor runs while the runtime is still there
  SetCurrentRuntime(nullptr);
  return code;
}

}  // namespace ray::core
