// Deferred calls: an actor whose creation said that its calls defer (call_threads.h; Python's
// async actors) runs no call threads. The reader thread starts each call as it comes, while fewer
// than max_concurrency are open; the invoker takes its call (DeferRunningCall) and returns at once,
// and the one that holds the call (the actor's event loop) finishes it from a thread of its own:
// the result goes to the outbox, and a flush sends it and starts the calls that waited for room.
// Calls start in the order they came (one thread at a time starts calls) and end in any order; the
// scheduler takes their results so (ConcurrentCallFinished).
#include <atomic>

#include "ray/core_worker/actor_instance.h"
#include "ray/core_worker/worker_runtime.h"

namespace ray::core::worker_internal {

// A call its invoker deferred. Its link to the runtime outlives the runtime: once the worker
// stopped serving (DetachOpenCalls), Finish and Flush do nothing.
class WorkerRuntime::OpenCall final : public DeferredCall {
 public:
  OpenCall(std::shared_ptr<OpenCallsLink> link, CallEnd call, TaskReturns returns)
      : link(std::move(link)), call(std::move(call)), returns(std::move(returns)) {}
  ~OpenCall() override {
    // Dropped unfinished: it fails, and its room goes to the calls waiting for one at once (no
    // one else may flush: the thread that drops it may be any).
    if (Finish([](ReturnWriter&) {
          return absl::InternalError("the call was dropped before it ended");
        })) {
      Flush();
    }
  }

  bool Finish(absl::FunctionRef<absl::Status(ReturnWriter&)> write) override {
    absl::ReaderMutexLock lock(&link->mu);
    if (link->runtime == nullptr || finished.exchange(true)) return false;
    link->runtime->FinishOpenCall(*this, write);
    return true;
  }

  void Flush() override {
    absl::ReaderMutexLock lock(&link->mu);
    if (link->runtime != nullptr) link->runtime->FlushOpenCalls();
  }

  const std::shared_ptr<OpenCallsLink> link;
  const CallEnd call;
  std::optional<TaskReturns> returns;  // dropped when finished, or when the worker detaches it
  std::atomic<bool> finished = false;
};

std::unique_ptr<DeferredCall> WorkerRuntime::CallToDefer::Defer() {
  if (deferred) return nullptr;
  deferred = true;
  auto open = std::make_unique<OpenCall>(r_.open_link_, call_, std::move(returns_));
  absl::MutexLock lock(&r_.out_mu_);
  r_.open_.insert(open.get());
  return open;
}

void WorkerRuntime::StartQueuedCalls() {
  {
    absl::MutexLock lock(&out_mu_);
    starts_wanted_ = true;
  }
  // A thread that finds another starting calls leaves them to it (it looks at starts_wanted_
  // before it stops): the one that ends calls never waits for the one that reads.
  while (start_mu_.TryLock()) {
    while (true) {
      QueuedTask next;
      {
        absl::MutexLock lock(&out_mu_);
        starts_wanted_ = false;
        if (calls_stopped_ || queue_.empty() || ActorExitRequested() ||
            open_.size() >= static_cast<size_t>(max_threads_)) {
          break;
        }
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      Execute(next);  // the invoker defers it, or it ended (failed) at once
    }
    start_mu_.Unlock();
    absl::MutexLock lock(&out_mu_);
    if (!starts_wanted_) break;
  }
  bool stop;
  {
    absl::MutexLock lock(&out_mu_);
    stop = ActorExitRequested() && open_.empty();
  }
  absl::Status sent = stop ? Send() : SendOrDefer();  // the results of calls that ended at once
  if (stop || !sent.ok()) StopCallThreads();
}

void WorkerRuntime::FinishOpenCall(OpenCall& call,
                                   absl::FunctionRef<absl::Status(ReturnWriter&)> write) {
  std::string error;
  try {
    error = SealOrError(write(*call.returns), call.call, *call.returns);
  } catch (...) {  // what `write` let through
    error = SerializeError(CaughtExceptionErrorInfo(call.call.name, call.call.id));
  }
  RecordDone(call.call, *call.returns, error);
  call.returns.reset();
  absl::MutexLock lock(&out_mu_);
  open_.erase(&call);  // its result goes out at the next Flush (a dropped call flushes itself)
}

void WorkerRuntime::FlushOpenCalls() {
  if (!Send().ok()) {
    StopCallThreads();
    return;
  }
  StartQueuedCalls();  // after ray::ExitActor: none, and the worker ends once none is open
}

void WorkerRuntime::DetachOpenCalls() {
  absl::WriterMutexLock link(&open_link_->mu);
  open_link_->runtime = nullptr;
  absl::MutexLock lock(&out_mu_);
  for (OpenCall* call : open_) call->returns.reset();  // while the store is there
  open_.clear();
}

}  // namespace ray::core::worker_internal
