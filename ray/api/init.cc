// ray::Init / Shutdown: make the runtime (local mode, or the multi-process one through
// StartClusterRuntime) the process's CurrentRuntime(), and tear it down.
#include "ray/api/init.h"

#include <cstdlib>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "ray/api/cluster_runtime.h"
#include "ray/core/core_runtime.h"
#include "ray/core/errors.h"
#include "ray/core/limits.h"
#include "ray/core/local_runtime.h"

namespace ray {
namespace {

std::mutex& InitMutex() {
  static std::mutex* const mu = new std::mutex;
  return *mu;
}
// The runtime Init made (never destroyed by a static destructor: Shutdown or the atexit hook
// does it, in order).
std::unique_ptr<core::CoreRuntime>& OwnedRuntime() {
  static auto* const runtime = new std::unique_ptr<core::CoreRuntime>;
  return *runtime;
}

void ShutdownAtExit() { Shutdown(); }

}  // namespace

void Init(const InitOptions& options) {
  std::lock_guard<std::mutex> lock(InitMutex());
  if (core::CurrentRuntime() != nullptr) {
    throw RayError(OwnedRuntime() != nullptr
                       ? "ray::Init: ray is already initialized (call ray::Shutdown first)"
                       : "ray::Init: this process already has a runtime (it is a ray worker)");
  }
  if (absl::Status status = core::CheckNodeOptions(options.num_workers, options.num_cpus);
      !status.ok()) {
    throw RayError(absl::StrCat("ray::Init: ", status.message()));
  }
  std::unique_ptr<core::CoreRuntime> runtime = options.local_mode
                                                   ? std::make_unique<core::LocalRuntime>()
                                                   : internal::StartClusterRuntime(options);
  if (runtime == nullptr) throw RayError("ray::Init: the runtime did not start");
  static const bool registered = (std::atexit(ShutdownAtExit), true);
  (void)registered;
  OwnedRuntime() = std::move(runtime);
  core::SetCurrentRuntime(OwnedRuntime().get());
}

void Shutdown() {
  std::unique_ptr<core::CoreRuntime> runtime;
  {
    std::lock_guard<std::mutex> lock(InitMutex());
    if (OwnedRuntime() == nullptr) return;
    runtime = std::move(OwnedRuntime());
    if (core::CurrentRuntime() == runtime.get()) core::SetCurrentRuntime(nullptr);
  }
  runtime.reset();  // stops whatever it started, outside the lock
}

bool IsInitialized() { return core::CurrentRuntime() != nullptr; }

}  // namespace ray
