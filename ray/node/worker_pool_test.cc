#include "ray/node/worker_pool.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace ray::core {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'000'000);

std::unique_ptr<WorkerRecord> Worker(pid_t pid, WorkerState state = WorkerState::kIdle,
                                     absl::Time idle_since = kNow) {
  auto worker = std::make_unique<WorkerRecord>();
  worker->pid = pid;
  worker->state = state;
  worker->idle_since = idle_since;
  return worker;
}

TEST(WorkerPoolTest, ADeadWorkersSlotIsReusedOnceItsProcessHasEnded) {
  WorkerPool pool;
  EXPECT_EQ(pool.Add(Worker(10)).index, 0);
  EXPECT_EQ(pool.Add(Worker(11)).index, 1);
  pool[0]->state = WorkerState::kDead;
  pool[0]->process = Pidfd(-1);  // ended (no descriptor)
  EXPECT_EQ(pool.Add(Worker(12)).index, 0);
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(pool.Pids(), (std::vector<pid_t>{12, 11}));
}

TEST(WorkerPoolTest, UsableWorkersAreNeitherDeadNorBroken) {
  WorkerPool pool;
  pool.Add(Worker(1));
  pool.Add(Worker(2, WorkerState::kBusy));
  pool.Add(Worker(4, WorkerState::kBlocked));
  pool[2]->broken = true;
  pool.Add(Worker(3, WorkerState::kDead));
  EXPECT_EQ(pool.CountUsable(), 2);
  EXPECT_EQ(pool.Pids(), (std::vector<pid_t>{1, 2, 4}));
}

TEST(WorkerPoolTest, IdleWorkersBeyondTheFirstOnesRetireAfterTheTimeout) {
  WorkerPool pool;
  const absl::Duration timeout = absl::Seconds(10);
  pool.Add(Worker(1, WorkerState::kIdle, kNow - absl::Seconds(30)));
  pool.Add(Worker(2, WorkerState::kBusy));
  pool.Add(Worker(3, WorkerState::kIdle, kNow - absl::Seconds(3)));  // due in 7 s
  pool.Add(Worker(4, WorkerState::kIdle, kNow - absl::Seconds(20)));
  absl::Time next = absl::InfiniteFuture();
  std::vector<WorkerRecord*> retire = pool.IdleToRetire(/*keep=*/2, timeout, kNow, next);
  EXPECT_EQ(retire, (std::vector<WorkerRecord*>{pool[0].get(), pool[3].get()}));
  EXPECT_EQ(next, kNow + absl::Seconds(7));
  // Keeping three: only the first due one goes, and the count stops the scan there.
  next = absl::InfiniteFuture();
  EXPECT_EQ(pool.IdleToRetire(/*keep=*/3, timeout, kNow, next),
            (std::vector<WorkerRecord*>{pool[0].get()}));
  EXPECT_EQ(next, absl::InfiniteFuture());
  pool[0]->assigned.push_back(TaskID::FromRandom());  // a task on its way: not idle
  next = absl::InfiniteFuture();
  EXPECT_EQ(pool.IdleToRetire(/*keep=*/3, timeout, kNow, next),
            (std::vector<WorkerRecord*>{pool[3].get()}));
}

TEST(WorkerPoolTest, PooledListsTheWorkersThatTakeTasksOfThePool) {
  WorkerPool pool;
  pool.Add(Worker(1));
  pool.Add(Worker(2));
  auto client = Worker(3);
  client->client = true;
  pool.Add(std::move(client));  // never pooled
  pool.Add(Worker(4));
  EXPECT_EQ(pool.pooled(), (std::vector<int>{0, 1, 3}));
  pool[1]->actor = ObjectID::FromRandom();
  pool.Unpool(*pool[1]);
  EXPECT_EQ(pool.pooled(), (std::vector<int>{0, 3}));
  // An idle actor's worker is never retired.
  pool[1]->idle_since = kNow - absl::Hours(1);
  absl::Time next = absl::InfiniteFuture();
  EXPECT_TRUE(pool.IdleToRetire(/*keep=*/0, absl::Seconds(10), kNow, next).empty());
  // A dead pooled worker's slot, reused by a worker that is not pooled, leaves the list.
  pool[0]->state = WorkerState::kDead;
  pool[0]->process = Pidfd(-1);
  auto actor_worker = Worker(5);
  actor_worker->actor = ObjectID::FromRandom();
  EXPECT_EQ(pool.Add(std::move(actor_worker)).index, 0);
  EXPECT_EQ(pool.pooled(), (std::vector<int>{3}));
  // ... and a pooled one reusing a slot joins it, in order.
  pool[1]->state = WorkerState::kDead;
  pool[1]->process = Pidfd(-1);
  EXPECT_EQ(pool.Add(Worker(6)).index, 1);
  EXPECT_EQ(pool.pooled(), (std::vector<int>{1, 3}));
}

WorkerRecord::Pending Request(uint64_t id) { return {.request = id}; }

TEST(WorkerPoolTest, AWorkerRunningOneTaskWaitsWhileItsRequestWaits) {
  auto worker = Worker(1, WorkerState::kBusy);
  worker->assigned.push_back(TaskID::FromRandom());
  EXPECT_FALSE(worker->Waits());
  worker->pending.push_back(Request(1));
  EXPECT_TRUE(worker->Waits());
  worker->MoveTo(WorkerState::kBlocked);
  EXPECT_TRUE(worker->CanSuspendItsGet());  // a get without a deadline
  worker->pending.push_back(Request(2));    // not its protocol: none is suspended then
  EXPECT_FALSE(worker->CanSuspendItsGet());
}

TEST(WorkerPoolTest, AnActorWithCallThreadsWaitsOnlyWhileEachRunningCallWaits) {
  auto worker = Worker(1, WorkerState::kBusy);
  worker->concurrency = 3;
  for (int i = 0; i < 4; ++i) worker->assigned.push_back(TaskID::FromRandom());  // 3 run
  worker->pending.push_back(Request(1));
  worker->pending.push_back(Request(2));
  EXPECT_FALSE(worker->Waits());  // the third call runs
  worker->pending.push_back(Request(3));
  EXPECT_TRUE(worker->Waits());
  worker->assigned.pop_back();
  worker->assigned.pop_back();  // two calls left, three requests (a thread a call started)
  EXPECT_TRUE(worker->Waits());
  worker->pending.clear();
  EXPECT_FALSE(worker->Waits());
}

}  // namespace
}  // namespace ray::core
