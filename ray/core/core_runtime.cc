#include "ray/core/core_runtime.h"

#include <atomic>

namespace ray::core {
namespace {
std::atomic<CoreRuntime*> current_runtime{nullptr};
std::atomic<uint64_t> current_epoch{1};
}  // namespace

CoreRuntime* CurrentRuntime() { return current_runtime.load(std::memory_order_acquire); }

void SetCurrentRuntime(CoreRuntime* runtime) {
  CoreRuntime* old = current_runtime.exchange(runtime, std::memory_order_acq_rel);
  if (old != runtime) current_epoch.fetch_add(1, std::memory_order_acq_rel);
}

uint64_t CurrentRuntimeEpoch() { return current_epoch.load(std::memory_order_acquire); }

}  // namespace ray::core
