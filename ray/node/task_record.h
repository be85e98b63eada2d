// A task as the scheduler holds it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ray/common/actor_options.h"
#include "ray/common/id.h"
#include "ray/common/resources.h"

namespace ray::core {

struct TaskRecord {
  TaskID id;
  TaskID parent;
  uint64_t function_key = 0;
  struct Arg {
    ObjectID ref;       // nil for an inline value
    std::string value;  // the serialized value when `ref` is nil
  };
  std::vector<Arg> args;
  int num_returns = 1;
  double num_cpus = 1;
  ResourceAmounts resources;  // custom ones
  int retries_left = 3;
  bool run_while_blocked = false;     // sent to a blocked worker, to run inside its wait
  std::string name;                   // for the graph and errors; "": the function's name
  std::vector<ObjectID> nested_refs;  // held (one ref each) until the task ends
  int unresolved = 0;                 // ref arguments that do not exist yet
  int worker = -1;                    // while dispatched
  ObjectID actor;                     // a call of this actor (its handle's object); nil: a task
  // Set: it makes an actor. Shared, not inline: most tasks make none, and a TaskRecord stays
  // small (the hot path moves them).
  std::shared_ptr<const ActorOptions> creates_actor;
  bool actor_restart = false;  // a creation run again (its actor restarts)
  // In a cluster, a placement no node could take: the node update it waits for before it
  // fails (Scheduler::InfeasibleForGood); 0: none yet.
  uint32_t infeasible_wait = 0;
};

}  // namespace ray::core
