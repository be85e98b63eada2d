#include "ray/node/worker_liveness.h"

#include <gtest/gtest.h>

namespace ray::core {
namespace {

const absl::Time t0 = absl::FromUnixSeconds(1'000'000);

absl::Time At(double seconds) { return t0 + absl::Seconds(seconds); }

// Polls every half second from `from` to `to`, each poll due half a second after it starts.
void PollSteadily(WorkerLiveness& liveness, double from, double to) {
  for (double t = from; t < to; t += 0.5) liveness.Polled(At(t), At(t + 0.5), At(t + 0.5));
}

TEST(WorkerLivenessTest, AWorkerSilentForTheTimeoutIsStalled) {
  WorkerLiveness liveness(absl::Seconds(2));
  PollSteadily(liveness, 0, 10);
  EXPECT_FALSE(liveness.Stalled(At(8.5), At(10)));
  EXPECT_TRUE(liveness.Stalled(At(8), At(10)));
  EXPECT_EQ(liveness.StallDeadline(At(9)), At(11));
}

TEST(WorkerLivenessTest, APollThatCameBackLateRestartsTheCounts) {
  WorkerLiveness liveness(absl::Seconds(2));
  PollSteadily(liveness, 0, 5);
  liveness.Polled(At(5), At(5.5), At(65));  // the driver was stopped for a minute
  EXPECT_FALSE(liveness.Stalled(At(4), At(66)));
  EXPECT_TRUE(liveness.Stalled(At(4), At(67)));
}

TEST(WorkerLivenessTest, AGapBetweenPollsRestartsTheCounts) {
  WorkerLiveness liveness(absl::Seconds(2));
  PollSteadily(liveness, 0, 5);
  liveness.Polled(At(30), At(31), At(30.1));  // nobody polled from 5 to 30
  EXPECT_FALSE(liveness.Stalled(At(4), At(31)));
  EXPECT_TRUE(liveness.Stalled(At(4), At(32.1)));
}

TEST(WorkerLivenessTest, AnEarlyReturnOrAShortDelayIsNoGap) {
  WorkerLiveness liveness(absl::Seconds(2));
  liveness.Polled(At(0), absl::InfiniteFuture(), At(20));  // an event after a long wait
  liveness.Polled(At(20.2), At(30), At(21));               // an event before the deadline
  liveness.Polled(At(21), At(22), At(22.5));               // half a second late
  EXPECT_TRUE(liveness.Stalled(At(0), At(22.5)));
}

TEST(WorkerLivenessTest, AClockSteppedBackRestartsTheCounts) {
  WorkerLiveness liveness(absl::Seconds(2));
  PollSteadily(liveness, 0, 5);
  liveness.Polled(At(5), At(5.5), At(3));
  EXPECT_FALSE(liveness.Stalled(At(-10), At(4.9)));
  EXPECT_TRUE(liveness.Stalled(At(-10), At(5)));
}

}  // namespace
}  // namespace ray::core
