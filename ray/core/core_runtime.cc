#include "ray/core/core_runtime.h"

#include <atomic>

namespace ray::core {
namespace {
std::atomic<CoreRuntime*> current_runtime{nullptr};
}  // namespace

CoreRuntime* CurrentRuntime() { return current_runtime.load(std::memory_order_acquire); }
void SetCurrentRuntime(CoreRuntime* runtime) {
  current_runtime.store(runtime, std::memory_order_release);
}

}  // namespace ray::core
