#include "ray/core_worker/actor_instance.h"

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <utility>

namespace ray::core {

struct ActorState {
  ActorState() { pthread_key_create(&calls_here, nullptr); }

  std::optional<ActorInstance> slot;  // the worker's task thread sets and reads it
  std::atomic<bool> restarted{false};
  std::atomic<bool> exit_requested{false};
  // Per thread, the calls running on it (nested ones too), as a pointer-sized count: a key
  // rather than a thread_local, so that a module's copy of libray reads its loader's.
  pthread_key_t calls_here;
};

namespace {

ActorState* const own_state = new ActorState;  // leaked: workers read it until they exit
std::atomic<ActorState*> state{own_state};

ActorState& State() { return *state.load(std::memory_order_acquire); }

}  // namespace

ActorState* ThisActorState() { return &State(); }
void UseActorStateOf(ActorState* loader) { state.store(loader, std::memory_order_release); }

void SetActorInstance(std::shared_ptr<void> object, std::string type, ObjectID id) {
  State().slot = ActorInstance{std::move(object), std::move(type), id};
}

const ActorInstance* CurrentActorInstance() {
  const std::optional<ActorInstance>& slot = State().slot;
  return slot ? &*slot : nullptr;
}

void EndActorInstance() { State().slot.reset(); }

void SetActorRestarted(bool value) { State().restarted.store(value); }
bool ActorRestarted() { return State().restarted.load(); }

void RequestActorExit() { State().exit_requested.store(true); }
bool ActorExitRequested() { return State().exit_requested.load(); }

namespace {
void AddCallsHere(intptr_t change) {
  const pthread_key_t key = State().calls_here;
  pthread_setspecific(
      key, reinterpret_cast<void*>(reinterpret_cast<intptr_t>(pthread_getspecific(key)) + change));
}
}  // namespace

RunningCallScope::RunningCallScope() { AddCallsHere(1); }
RunningCallScope::~RunningCallScope() { AddCallsHere(-1); }
bool InRunningCall() { return pthread_getspecific(State().calls_here) != nullptr; }

}  // namespace ray::core
