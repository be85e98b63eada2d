// ray::Init / Shutdown: make the runtime (local mode, or the multi-process one through
// StartClusterRuntime) the process's CurrentRuntime(), and tear it down.
#include "ray/api/init.h"

#include <cstdlib>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ray/api/cluster_runtime.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/limits.h"
#include "ray/core_worker/local_runtime.h"
#include "ray/core_worker/runtime_gate.h"
#include "ray/object/errors.h"

namespace ray {
namespace {

std::mutex& InitMutex() {
  static std::mutex* const mu = new std::mutex;
  return *mu;
}
// The gate of the runtime Init made (closed by Shutdown or the atexit hook, never freed: see
// runtime_gate.h); null when ray is not initialized.
core::RuntimeGate*& OwnedRuntime() {
  static auto* const gate = new core::RuntimeGate*(nullptr);
  return *gate;
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
  OwnedRuntime() = core::RuntimeGate::Open(std::move(runtime));
  core::SetCurrentRuntime(OwnedRuntime());
}

void Shutdown() {
  core::RuntimeGate* gate;
  {
    std::lock_guard<std::mutex> lock(InitMutex());
    gate = std::exchange(OwnedRuntime(), nullptr);
    if (gate == nullptr) return;
    if (core::CurrentRuntime() == gate) core::SetCurrentRuntime(nullptr);
  }
  // Outside the lock: waits for other threads' calls to leave (those blocked in Get or Wait
  // throw "ray was shut down"), then stops whatever the runtime started.
  gate->Close();
}

bool IsInitialized() { return core::CurrentRuntime() != nullptr; }

}  // namespace ray
