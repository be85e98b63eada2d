// The fault-injection seam: named points in the node's own code (a worker about to send its
// results, the store client creating an object...) where a test can make something go wrong: the
// process dies, a thread or a socket stalls, a socket gets garbage or a broken frame, the store
// refuses. Nothing happens unless a test armed the point; unarmed, a point costs one relaxed
// atomic load.
//
// A test arms points before ray::Init (the node's processes are forks of that moment), with
// Arm() or through the environment variable RAY_TESTING_FAULTS, read when a process starts:
//
//   RAY_TESTING_FAULTS="worker.send_results=kill@1;worker.heartbeat=garbage"
//
// `@N` takes the action on the Nth hit only; the hits of a point are counted over the process
// that armed it and every process forked from it since (a table in shared memory), so "@1" means
// once on the whole node. The points are listed in docs/RELIABILITY.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace ray::faults {

enum class Action : uint8_t {
  kNone,
  kKill,         // the process dies (SIGKILL)
  kStall,        // the point stops for good: a socket sends nothing more, a thread blocks
  kGarbage,      // a socket gets a well-framed message that does not decode
  kTruncate,     // a socket gets the first half of the frame, and never the rest
  kBogusLength,  // a socket gets a frame header declaring more bytes than follow (a valid size)
  kOversize,     // a socket gets a frame header declaring more than the reader accepts
  kRefuse,       // the store refuses the operation
};

// "kill", "stall", "garbage", "truncate", "bogus_length", "oversize", "refuse".
std::string_view ActionName(Action action);

// Arms `point` in this process and in those forked from it afterwards: the action is taken on
// hit `nth` (counted over all of them, from 1), or on every hit when `nth` is 0. Arming a point
// again replaces its action and restarts its count. InvalidArgument for an empty or too long
// name (47 bytes at most), ResourceExhausted past 32 points.
// REQUIRES: no other thread of this process is at a point meanwhile (call it before Init).
absl::Status Arm(std::string_view point, Action action, int nth = 0);
// Arms each "point=action" or "point=action@N" of a ';'-separated list.
absl::Status ArmFromSpec(std::string_view spec);
// Disarms every point in this process (forks made before keep theirs).
// REQUIRES: as for Arm.
void DisarmAll();
// How many times `point` was reached since it was armed, on the whole node (0 if not armed).
int64_t Hits(std::string_view point);

namespace internal {
extern std::atomic<bool> armed;  // some point is armed in this process
Action Hit(std::string_view point);
}  // namespace internal

// The action to take at this hit of `point`; kNone unless a test armed it.
inline Action At(std::string_view point) {
  if (!internal::armed.load(std::memory_order_relaxed)) return Action::kNone;
  return internal::Hit(point);
}

// For the points' code: SIGKILL to this process; never returns.
[[noreturn]] void Kill();
// For the points' code: blocks the calling thread for good.
[[noreturn]] void StallForever();

}  // namespace ray::faults
