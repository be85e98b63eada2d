// Call threads: the worker of an actor with max_concurrency > 1 runs its calls on up to that many
// threads of their own, started as calls queue up. Its main thread reads the scheduler's socket
// (tasks into the queue, replies to the call thread waiting for one); each call thread takes the
// next queued call, runs it and sends its results. Calls from one caller then start in order but
// may end in any order. Each call thread may have a blocking request (get, wait, lookup) in flight
// at once: each carries its own ID, and this thread hands each reply to the call thread that asked
// (Request). An actor whose calls defer runs no call threads: this thread starts its calls
// (worker_deferred.cc).
#include <sys/socket.h>

#include "ray/core_worker/actor_instance.h"
#include "ray/core_worker/call_threads.h"
#include "ray/core_worker/worker_runtime.h"

namespace ray::core::worker_internal {
namespace {

thread_local bool on_call_thread = false;

}  // namespace

int WorkerRuntime::ServeOnThreads(int threads) {
  if (!Send().ok()) return 0;  // the creation's result
  max_threads_ = threads;      // with deferred calls: how many may be open at once
  threaded_ = true;
  defers_calls_ = ActorDefersCalls();
  if (defers_calls_) {
    absl::WriterMutexLock link(&open_link_->mu);
    open_link_->runtime = this;
  }
  SetCallsOnThreads(true);
  const CallThreadHooks& hooks = GetCallThreadHooks();
  if (hooks.leave != nullptr) hooks.leave();
  while (true) {
    if (defers_calls_) {
      StartQueuedCalls();  // on this thread: their invokers hand them over and return
    } else {
      absl::MutexLock lock(&out_mu_);
      // One idle thread woken per queued call, not all of them.
      for (size_t i = 0; i < std::min<size_t>(queue_.size(), idle_threads_); ++i) {
        calls_cv_.Signal();
      }
      AddCallThreads();
    }
    absl::Status read = Receive(absl::InfiniteDuration(), /*blocked=*/false);
    absl::MutexLock lock(&out_mu_);
    if (!read.ok() || calls_stopped_) break;  // the socket closed, or ray::ExitActor
  }
  StopCallThreads();  // waits for the running calls to end (deferred ones end without it)
  DetachOpenCalls();
  if (hooks.enter != nullptr) hooks.enter();
  SetCallsOnThreads(false);
  return 0;
}

void WorkerRuntime::AddCallThreads() {
  size_t idle = idle_threads_;
  while (queue_.size() > idle && call_threads_.size() < static_cast<size_t>(max_threads_)) {
    call_threads_.emplace_back([this] { CallThread(); });
    ++idle;
  }
}

void WorkerRuntime::CallThread() {
  on_call_thread = true;
  out_mu_.Lock();
  while (!calls_stopped_) {
    if (queue_.empty()) {
      ++idle_threads_;
      calls_cv_.Wait(&out_mu_);
      --idle_threads_;
      continue;
    }
    QueuedTask next = std::move(queue_.front());
    queue_.pop_front();
    out_mu_.Unlock();
    Execute(next);
    // After ray::ExitActor the worker ends once the calls running now are done (none starts).
    const bool exiting = ActorExitRequested();
    absl::Status sent = exiting ? Send() : SendOrDefer();
    if (exiting || !sent.ok()) StopCallThreads();
    out_mu_.Lock();
  }
  out_mu_.Unlock();
}

void WorkerRuntime::StopCallThreads() {
  {
    absl::MutexLock lock(&out_mu_);
    if (!calls_stopped_) {
      calls_stopped_ = true;
      calls_cv_.SignalAll();
      // A call waiting for a reply gets none now; the reader thread stops reading.
      connection_closed_ = true;
      reply_cv_.SignalAll();
      if (threaded_) shutdown(stream_.fd(), SHUT_RD);
    }
  }
  if (on_call_thread || defers_calls_) return;  // the reader thread joins them (if any)
  for (std::thread& thread : call_threads_) thread.join();
  call_threads_.clear();
}

}  // namespace ray::core::worker_internal
