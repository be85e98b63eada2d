// A runtime that other threads may still be calling when it shuts down. Calls pass through to
// the runtime the gate owns until Close(). Close() makes calls blocked inside return (Get and
// Wait with ShutDownError(), ray/object/status.h), waits until no call is inside, and destroys
// the runtime; later calls return the same error (AddRef and RemoveRef do nothing). The
// gate itself is never freed: a thread may hold its address past Close() (read from
// CurrentRuntime() just before, or kept in an ObjectRef), and it is a few dozen bytes per session.
//
// The session owner (session.h: ray::Init, ray.init) makes its runtime's gate CurrentRuntime().
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "ray/core_worker/core_runtime.h"

namespace ray::core {

class RuntimeGate final : public CoreRuntime {
 public:
  // Returns a new gate owning `runtime`; it is never freed (see above).
  static RuntimeGate* Open(std::unique_ptr<CoreRuntime> runtime);

  // Closes the gate, waits for the calls inside to leave, and destroys the runtime. Call once,
  // after clearing CurrentRuntime(), from a thread that is not inside a call.
  void Close();
  // The runtime while the gate is open (for what CoreRuntime does not offer); null after Close.
  // Only the thread that calls Close may use it without a call of its own in flight.
  CoreRuntime* runtime() const { return closed_.load() ? nullptr : runtime_.get(); }
  // Runs `f` with the runtime as one call through the gate: Close() waits for it to return.
  // Returns ShutDownError() without running `f` once the gate is closed.
  absl::Status Call(absl::FunctionRef<void(CoreRuntime&)> f);

  absl::StatusOr<std::vector<ObjectID>> Submit(TaskSpec spec) override;
  absl::StatusOr<ObjectID> Put(size_t size, absl::FunctionRef<void(std::span<uint8_t>)> write,
                               const PutOptions& options) override;
  absl::StatusOr<std::vector<ObjectValue>> Get(std::span<const ObjectID> ids,
                                               absl::Duration timeout) override;
  absl::StatusOr<WaitIndices> Wait(std::span<const ObjectID> ids, size_t num_returns,
                                   absl::Duration timeout) override;
  void AddRef(const ObjectID& id) override;
  void RemoveRef(const ObjectID& id) override;
  absl::Status KillActor(const ObjectID& actor, bool no_restart) override;
  absl::StatusOr<std::optional<NamedActor>> LookupActor(const std::string& name) override;
  std::optional<TaskGraphSnapshot> GraphSnapshot() const override;
  TaskID CurrentTaskId() const override;

 private:
  class Pass;  // one call going through
  explicit RuntimeGate(std::unique_ptr<CoreRuntime> runtime) : runtime_(std::move(runtime)) {}

  std::unique_ptr<CoreRuntime> runtime_;
  std::atomic<bool> closed_{false};
  mutable std::atomic<int64_t> calls_inside_{0};
  mutable absl::Mutex mu_;  // Close() waits on it for calls_inside_ to reach 0
  mutable absl::CondVar left_;
};

}  // namespace ray::core
