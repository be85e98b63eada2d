// The actor a worker process serves: the object its factory made (ray/api/actor.h), held until
// the worker stops serving, when its destructor runs. A process serves one actor at most.
#pragma once

#include <memory>
#include <string>

#include "ray/common/id.h"

namespace ray::core {

struct ActorInstance {
  std::shared_ptr<void> object;
  std::string type;  // its C++ type's name, for the check of each call
  ObjectID id;       // its handle's object
};

// Called by an actor's creation, in its worker.
void SetActorInstance(std::shared_ptr<void> object, std::string type, ObjectID id);
// The actor this process serves, or null.
const ActorInstance* CurrentActorInstance();
// Destroys it (its destructor runs now); the worker loop calls this when it stops serving.
void EndActorInstance();

// Whether this process's actor ran its factory before, in another process (set by the worker
// before it runs a creation).
void SetActorRestarted(bool restarted);
bool ActorRestarted();

// ray::ExitActor: the worker stops serving once the running call is done.
void RequestActorExit();
bool ActorExitRequested();

// This thread runs a task or call while one lives (the worker runs each invoker inside one).
// ray::ExitActor works only there: not on a thread that a call started.
class RunningCallScope {
 public:
  RunningCallScope();
  ~RunningCallScope();
  RunningCallScope(const RunningCallScope&) = delete;
  RunningCallScope& operator=(const RunningCallScope&) = delete;
};
bool InRunningCall();

// What the functions above keep: the actor, its flags and which threads run calls. A module with a
// copy of libray of its own (a user's library that the Python package loads, function_registry.h)
// uses its loader's, so that the actor its factory makes is the one the worker ends, and the flags
// the worker reads.
struct ActorState;
ActorState* ThisActorState();
void UseActorStateOf(ActorState* loader);

}  // namespace ray::core
