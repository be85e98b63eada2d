#include "ray/node/worker_liveness.h"

#include <algorithm>

namespace ray::core {

void WorkerLiveness::Polled(absl::Time started, absl::Time deadline, absl::Time returned) {
  bool gap_before =
      last_returned_ != absl::InfinitePast() && started - last_returned_ > kMaxPollGap;
  bool late = returned - std::max(started, std::min(deadline, returned)) > kMaxPollGap;
  bool clock_stepped_back = returned < started || started < last_returned_;
  if (gap_before || late || clock_stepped_back) watching_since_ = returned;
  last_returned_ = returned;
}

}  // namespace ray::core
