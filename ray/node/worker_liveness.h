// When a worker counts as stalled: it holds tasks and has sent no complete message for the
// stall timeout. A live worker that holds tasks sends at least a heartbeat every second (see
// worker.capnp), whatever its tasks do; a worker whose socket desynchronized (a truncated frame,
// a bogus length) or whose process stopped sends nothing the scheduler can read.
//
// Silence counts only while the scheduler was watching. If the scheduler itself was not
// polling for a while (the driver suspended, the machine starved, the clock stepped), the
// workers' messages of that time may not have been read yet: every count starts again from
// the end of that gap. No I/O; the scheduler's poller feeds it and asks it, under its mutex.
#pragma once

#include <algorithm>

#include "absl/time/time.h"

namespace ray::core {

class WorkerLiveness {
 public:
  // A gap in polling longer than this (between two polls, or past a poll's deadline) restarts
  // the counts.
  static constexpr absl::Duration kMaxPollGap = absl::Seconds(1);

  explicit WorkerLiveness(absl::Duration stall_timeout) : stall_timeout_(stall_timeout) {}

  // The poller waited for events from `started`, until `deadline` at the latest
  // (InfiniteFuture: none), and came back at `returned`.
  void Polled(absl::Time started, absl::Time deadline, absl::Time returned);
  // When a worker last heard from at `heard` (its last complete message, or when it started to
  // hold tasks) counts as stalled.
  absl::Time StallDeadline(absl::Time heard) const {
    return std::max(heard, watching_since_) + stall_timeout_;
  }
  bool Stalled(absl::Time heard, absl::Time now) const { return now >= StallDeadline(heard); }
  absl::Duration stall_timeout() const { return stall_timeout_; }

 private:
  const absl::Duration stall_timeout_;
  absl::Time watching_since_ = absl::InfinitePast();  // the end of the last gap
  absl::Time last_returned_ = absl::InfinitePast();
};

}  // namespace ray::core
