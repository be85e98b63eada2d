#include "ray/core_worker/call_threads.h"

#include <atomic>

namespace ray::core {
namespace {

CallThreadHooks hooks;
std::atomic<bool> calls_on_threads{false};

}  // namespace

void SetCallThreadHooks(CallThreadHooks h) { hooks = h; }
const CallThreadHooks& GetCallThreadHooks() { return hooks; }

void SetCallsOnThreads(bool on) { calls_on_threads.store(on, std::memory_order_release); }
bool CallsOnThreads() { return calls_on_threads.load(std::memory_order_acquire); }

}  // namespace ray::core
