#include "ray/object_manager/pull_queue.h"

#include <gtest/gtest.h>

namespace ray::object_manager {
namespace {

TEST(PullQueueTest, MostUrgentFirstAndTurnsWithinAPriority) {
  PullQueue queue(/*chunk_bytes=*/10, /*max_bytes_in_flight=*/1000);
  queue.Add(1, 2);
  queue.Add(2, 0);
  queue.Add(3, 0);
  queue.Add(4, 1);
  EXPECT_EQ(queue.Next(), 2u);
  EXPECT_EQ(queue.Next(), 3u);
  EXPECT_EQ(queue.Next(), 2u);
  queue.Remove(2);
  queue.Remove(3);
  EXPECT_EQ(queue.Next(), 4u);
  queue.Remove(4);
  EXPECT_EQ(queue.Next(), 1u);
  queue.Remove(1);
  EXPECT_EQ(queue.Next(), std::nullopt);
}

TEST(PullQueueTest, AddingAgainOnlyRaisesThePriority) {
  PullQueue queue(10, 1000);
  queue.Add(1, 1);
  queue.Add(2, 1);
  queue.Add(2, 2);  // less urgent: ignored
  queue.Add(1, 1);  // the same: keeps its turn
  EXPECT_EQ(queue.Next(), 1u);
  queue.Add(2, 0);
  EXPECT_EQ(queue.Next(), 2u);
  EXPECT_EQ(queue.Next(), 2u);
  EXPECT_TRUE(queue.Contains(1));
  queue.Remove(1);
  EXPECT_FALSE(queue.Contains(1));
}

TEST(PullQueueTest, TheBudgetBoundsBytesInFlight) {
  PullQueue queue(/*chunk_bytes=*/4, /*max_bytes_in_flight=*/10);
  queue.Add(1, 2);
  ASSERT_EQ(queue.Next(), 1u);
  queue.Charge(4);
  ASSERT_EQ(queue.Next(), 1u);
  queue.Charge(4);
  EXPECT_EQ(queue.Next(), std::nullopt);  // 8 + 4 > 10
  queue.Add(2, 0);
  EXPECT_EQ(queue.Next(), std::nullopt);  // urgency does not exceed the budget
  queue.Release(4);
  EXPECT_EQ(queue.Next(), 2u);  // but takes the room first when it frees
  queue.Charge(4);
  EXPECT_EQ(queue.in_flight(), 8u);
  EXPECT_EQ(queue.peak(), 8u);
}

TEST(PullQueueTest, AChunkLargerThanTheBudgetGoesAloneWhenNothingIsInFlight) {
  PullQueue queue(/*chunk_bytes=*/100, /*max_bytes_in_flight=*/10);
  queue.Add(1, 0);
  ASSERT_EQ(queue.Next(), 1u);
  queue.Charge(100);
  EXPECT_EQ(queue.Next(), std::nullopt);
  queue.Release(100);
  EXPECT_EQ(queue.Next(), 1u);
}

}  // namespace
}  // namespace ray::object_manager
