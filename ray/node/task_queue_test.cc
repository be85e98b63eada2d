#include "ray/node/task_queue.h"

#include <gtest/gtest.h>

namespace ray::core {
namespace {

TaskRecord Task(const TaskID& id, double cpus = 1) {
  TaskRecord task;
  task.id = id;
  task.num_cpus = cpus;
  return task;
}

TEST(TaskQueueTest, ADuplicateSubmissionChangesNothing) {
  TaskQueue queue;
  TaskID id = TaskID::FromRandom();
  auto [first, added] = queue.Add(Task(id, 2));
  ASSERT_TRUE(added);
  auto [again, added_again] = queue.Add(Task(id, 5));
  EXPECT_FALSE(added_again);
  EXPECT_EQ(again, first);
  EXPECT_EQ(queue.At(id).num_cpus, 2);
  EXPECT_EQ(queue.size(), 1u);
}

TEST(TaskQueueTest, ReadyTasksGoInOrderAndReturnedOnesFirst) {
  TaskQueue queue;
  TaskID a = TaskID::FromRandom(), b = TaskID::FromRandom(), c = TaskID::FromRandom();
  for (const TaskID& id : {a, b, c}) queue.Add(Task(id));
  queue.PushReady(a);
  queue.PushReady(b);
  queue.ReturnReady(c);  // handed back by a worker: it goes before the others
  ASSERT_EQ(queue.ReadySize(), 3u);
  EXPECT_EQ(queue.ReadyAt(0)->id, c);
  EXPECT_EQ(queue.TakeReady(1).id, a);  // the policy may take one from the middle
  EXPECT_EQ(queue.ReadySize(), 2u);
  EXPECT_EQ(queue.ReadyAt(1)->id, b);
  EXPECT_EQ(queue.ReadyAt(2), nullptr);
}

TEST(TaskQueueTest, TasksThatEndedLeaveTheReadyQueue) {
  TaskQueue queue;
  TaskID a = TaskID::FromRandom(), b = TaskID::FromRandom(), c = TaskID::FromRandom();
  for (const TaskID& id : {a, b, c}) {
    queue.Add(Task(id));
    queue.PushReady(id);
  }
  queue.Erase(a);  // failed while ready (its node broke, say)
  queue.Erase(b);
  EXPECT_EQ(queue.Find(a), nullptr);
  EXPECT_EQ(queue.ReadySize(), 1u);
  EXPECT_EQ(queue.ReadyAt(0)->id, c);
  queue.Erase(c);
  EXPECT_EQ(queue.ReadySize(), 0u);
  EXPECT_TRUE(queue.Ids().empty());
}

}  // namespace
}  // namespace ray::core
