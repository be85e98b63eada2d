#include "ray/node/worker_state.h"

#include <gtest/gtest.h>

namespace ray::core {
namespace {

using S = WorkerState;

TEST(WorkerStateTest, TheTableOfMoves) {
  EXPECT_TRUE(CanMoveWorker(S::kIdle, S::kBusy));
  EXPECT_TRUE(CanMoveWorker(S::kIdle, S::kDead));
  EXPECT_FALSE(CanMoveWorker(S::kIdle, S::kIdle));
  EXPECT_FALSE(CanMoveWorker(S::kIdle, S::kBlocked));  // only a running task waits in a get
  for (S to : {S::kIdle, S::kBusy, S::kBlocked, S::kDead}) {
    EXPECT_TRUE(CanMoveWorker(S::kBusy, to));
    EXPECT_TRUE(CanMoveWorker(S::kBlocked, to));
    EXPECT_FALSE(CanMoveWorker(S::kDead, to));  // a dead worker's record is replaced, not revived
  }
}

}  // namespace
}  // namespace ray::core
