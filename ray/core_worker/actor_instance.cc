#include "ray/core_worker/actor_instance.h"

#include <optional>
#include <utility>

namespace ray::core {
namespace {

// The worker's task thread sets and reads it; a process serves one actor.
std::optional<ActorInstance>& Slot() {
  static std::optional<ActorInstance> slot;
  return slot;
}

}  // namespace

void SetActorInstance(std::shared_ptr<void> object, std::string type) {
  Slot() = ActorInstance{std::move(object), std::move(type)};
}

const ActorInstance* CurrentActorInstance() { return Slot() ? &*Slot() : nullptr; }

void EndActorInstance() { Slot().reset(); }

}  // namespace ray::core
