#include "ray/core_worker/runtime_gate.h"

#include "ray/object/status.h"

namespace ray::core {

// Counts a call as inside before it reads `closed_`, and Close() sets `closed_` before it counts
// the calls inside (both sequentially consistent): a call either sees the gate closed, or is
// counted and waited for.
class RuntimeGate::Pass {
 public:
  explicit Pass(const RuntimeGate& gate) : gate_(gate) {
    gate_.calls_inside_.fetch_add(1);
    open_ = !gate_.closed_.load();
  }
  ~Pass() {
    if (gate_.calls_inside_.fetch_sub(1) == 1 && gate_.closed_.load()) {
      absl::MutexLock lock(&gate_.mu_);
      gate_.left_.SignalAll();
    }
  }
  Pass(const Pass&) = delete;
  Pass& operator=(const Pass&) = delete;

  bool open() const { return open_; }
  // REQUIRES: open().
  CoreRuntime& runtime() const { return *gate_.runtime_; }

 private:
  const RuntimeGate& gate_;
  bool open_ = false;
};

RuntimeGate* RuntimeGate::Open(std::unique_ptr<CoreRuntime> runtime) {
  return new RuntimeGate(std::move(runtime));
}

void RuntimeGate::Close() {
  if (closed_.exchange(true)) return;
  runtime_->Interrupt();  // blocked calls return; those that enter later return at once
  {
    absl::MutexLock lock(&mu_);
    while (calls_inside_.load() > 0) left_.Wait(&mu_);
  }
  runtime_.reset();
}

absl::Status RuntimeGate::Call(absl::FunctionRef<void(CoreRuntime&)> f) {
  Pass pass(*this);
  if (!pass.open()) return ShutDownError();
  f(pass.runtime());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ObjectID>> RuntimeGate::Submit(TaskSpec spec) {
  Pass pass(*this);
  if (!pass.open()) return ShutDownError();
  return pass.runtime().Submit(std::move(spec));
}

absl::StatusOr<ObjectID> RuntimeGate::Put(size_t size,
                                          absl::FunctionRef<void(std::span<uint8_t>)> write,
                                          const PutOptions& options) {
  Pass pass(*this);
  if (!pass.open()) return ShutDownError();
  return pass.runtime().Put(size, write, options);
}

absl::StatusOr<std::vector<ObjectValue>> RuntimeGate::Get(std::span<const ObjectID> ids,
                                                          absl::Duration timeout) {
  Pass pass(*this);
  if (!pass.open()) return ShutDownError();
  return pass.runtime().Get(ids, timeout);
}

absl::StatusOr<WaitIndices> RuntimeGate::Wait(std::span<const ObjectID> ids, size_t num_returns,
                                              absl::Duration timeout) {
  Pass pass(*this);
  if (!pass.open()) return ShutDownError();
  return pass.runtime().Wait(ids, num_returns, timeout);
}

void RuntimeGate::AddRef(const ObjectID& id) {
  Pass pass(*this);
  if (pass.open()) pass.runtime().AddRef(id);
}

void RuntimeGate::RemoveRef(const ObjectID& id) {
  Pass pass(*this);
  if (pass.open()) pass.runtime().RemoveRef(id);
}

absl::Status RuntimeGate::KillActor(const ObjectID& actor, bool no_restart) {
  Pass pass(*this);
  if (!pass.open()) return ShutDownError();
  return pass.runtime().KillActor(actor, no_restart);
}

absl::StatusOr<std::optional<CoreRuntime::NamedActor>> RuntimeGate::LookupActor(
    const std::string& name) {
  Pass pass(*this);
  if (!pass.open()) return ShutDownError();
  return pass.runtime().LookupActor(name);
}

std::optional<TaskGraphSnapshot> RuntimeGate::GraphSnapshot() const {
  Pass pass(*this);
  return pass.open() ? pass.runtime().GraphSnapshot() : std::nullopt;
}

TaskID RuntimeGate::CurrentTaskId() const {
  Pass pass(*this);
  return pass.open() ? pass.runtime().CurrentTaskId() : TaskID::Nil();
}

}  // namespace ray::core
