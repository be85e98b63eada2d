// What a worker process does, as the scheduler sees it, and how that may change:
//
//   from \ to | kIdle        | kBusy              | kBlocked           | kDead
//   ----------+--------------+--------------------+--------------------+-----------------
//   kIdle     |              | given a task       |                    | retired, or lost
//   kBusy     | out of tasks | next queued starts | waits in a get, or | lost
//             |              |                    | a nested one ended |
//   kBlocked  | out of tasks | served, or runs a  | a nested one ended | lost
//             |              | nested task        |                    |
//   kDead     | final: its slot gets a new record (SpawnWorker)
//
// kBusy holds CPUs for its running task; kBlocked has given them back until its get is
// served. An actor's worker with call threads is kBlocked while each call it runs waits in a
// get or wait (WorkerRecord::Waits), and kBusy again once one is served or a call starts. A blocked
// worker that ends its task with its get unanswered breaks the protocol, but the scheduler copes
// (kBlocked to kIdle or kBlocked).
#pragma once

namespace ray::core {

enum class WorkerState { kIdle, kBusy, kBlocked, kDead };

// A worker that may still get tasks: not dead, and its socket not broken.
constexpr bool IsUsable(WorkerState state, bool broken) {
  return state != WorkerState::kDead && !broken;
}

// Whether the table above allows `from` -> `to`.
constexpr bool CanMoveWorker(WorkerState from, WorkerState to) {
  switch (from) {
    case WorkerState::kIdle:
      return to == WorkerState::kBusy || to == WorkerState::kDead;
    case WorkerState::kBusy:
    case WorkerState::kBlocked:
      return true;
    case WorkerState::kDead:
      return false;
  }
  return false;
}

}  // namespace ray::core
