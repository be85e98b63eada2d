#include "ray/core_worker/call_threads.h"

#include <atomic>

namespace ray::core {
namespace {

CallThreadHooks hooks;
std::atomic<bool> calls_on_threads{false};
thread_local DeferrableCall* deferrable = nullptr;
enum class Deferral { kNo, kAllowed, kActorDefers };
std::atomic<Deferral> deferral{Deferral::kNo};

}  // namespace

void SetCallThreadHooks(CallThreadHooks h) { hooks = h; }
const CallThreadHooks& GetCallThreadHooks() { return hooks; }

void SetCallsOnThreads(bool on) { calls_on_threads.store(on, std::memory_order_release); }
bool CallsOnThreads() { return calls_on_threads.load(std::memory_order_acquire); }

void SetDeferrableCall(DeferrableCall* call) { deferrable = call; }

std::unique_ptr<DeferredCall> DeferRunningCall() {
  return deferrable != nullptr ? deferrable->Defer() : nullptr;
}

void AllowDeferredCalls() { deferral.store(Deferral::kAllowed); }

bool DeferActorCalls() {
  Deferral allowed = Deferral::kAllowed;
  return deferral.compare_exchange_strong(allowed, Deferral::kActorDefers) ||
         allowed == Deferral::kActorDefers;
}

bool ActorDefersCalls() { return deferral.load() == Deferral::kActorDefers; }

}  // namespace ray::core
