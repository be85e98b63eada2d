#include "ray/core_worker/actor_instance.h"

#include <atomic>
#include <optional>
#include <utility>

namespace ray::core {
namespace {

// The worker's task thread sets and reads it; a process serves one actor.
std::optional<ActorInstance>& Slot() {
  static std::optional<ActorInstance> slot;
  return slot;
}

std::atomic<bool> restarted{false};
std::atomic<bool> exit_requested{false};

}  // namespace

void SetActorInstance(std::shared_ptr<void> object, std::string type, ObjectID id) {
  Slot() = ActorInstance{std::move(object), std::move(type), id};
}

const ActorInstance* CurrentActorInstance() { return Slot() ? &*Slot() : nullptr; }

void EndActorInstance() { Slot().reset(); }

void SetActorRestarted(bool value) { restarted.store(value); }
bool ActorRestarted() { return restarted.load(); }

void RequestActorExit() { exit_requested.store(true); }
bool ActorExitRequested() { return exit_requested.load(); }

}  // namespace ray::core
