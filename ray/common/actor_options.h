// What an actor is made with (its creation task carries them): how it restarts, retries and
// runs its calls. The API's ray::ActorOptions and Python's .options() become these.
#pragma once

#include <string>

namespace ray::core {

// max_concurrency at most (each call running at once has a thread of its own).
inline constexpr int kMaxActorConcurrency = 10000;

struct ActorOptions {
  int max_restarts = 0;      // times its process may die and the factory run again (-1: always)
  int max_task_retries = 0;  // re-runs of a call its process died in, while it restarts
  int max_concurrency = 1;   // calls it runs at once
  double num_cpus = 0;       // CPUs it holds for its life (its creation asks for at least 1)
  std::string name;          // "": unnamed; else ray::GetActor finds it by this (one per session)
  std::string type;          // its class ("Counter"; Python's "python:Counter"), for GetActor
  bool detached = false;     // lives until killed or it exits (not while handles to it do)
};

}  // namespace ray::core
