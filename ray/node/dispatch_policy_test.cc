#include "ray/node/dispatch_policy.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace ray::core {
namespace {

using Kind = DispatchDecision::Kind;

const absl::Time kNow = absl::FromUnixSeconds(1'000'000);

WorkerView Idle() { return {.state = WorkerState::kIdle}; }

WorkerView Busy(size_t load) {
  return {.state = WorkerState::kBusy, .load = load, .queued = load - 1, .front_started = kNow};
}

// Blocked in a get without a deadline of `waits_for`, with `nested` tasks suspended in it.
WorkerView BlockedIn(const std::vector<ObjectID>& waits_for, size_t nested = 0) {
  return {.state = WorkerState::kBlocked,
          .load = 1,
          .nested = nested,
          .can_suspend_its_get = true,
          .waits_for = waits_for};
}

// A node and its ready queue, as the scheduler would show them to the policy.
struct Node {
  double num_cpus = 2;
  int max_workers = 256;
  double cpus_free = 2;
  std::vector<WorkerView> workers;
  std::vector<std::optional<ReadyTask>> ready;
  bool may_start_worker = true;
  absl::Time now = kNow;

  TaskID AddReady(double cpus = 1) {
    TaskID id = TaskID::FromRandom();
    ready.push_back(ReadyTask{id, cpus});
    return id;
  }
  DispatchDecision Next() const {
    auto at = [&](size_t i) { return ready[i]; };
    return DispatchPolicy(num_cpus, max_workers).Next(Snapshot(at));
  }
  std::optional<int> StealFrom() const {
    auto at = [&](size_t i) { return ready[i]; };
    return DispatchPolicy(num_cpus, max_workers).StealFrom(Snapshot(at));
  }
  DispatchSnapshot Snapshot(absl::FunctionRef<std::optional<ReadyTask>(size_t)> at) const {
    return {.workers = workers,
            .cpus_free = cpus_free,
            .ready_size = ready.size(),
            .ready_at = at,
            .may_start_worker = may_start_worker,
            .now = now};
  }
};

TEST(DispatchPolicyTest, AReadyTaskRunsOnAnIdleWorker) {
  Node node{.workers = {Busy(1), Idle(), Idle()}};
  node.AddReady(0.5);
  EXPECT_EQ(node.Next(), (DispatchDecision{.kind = Kind::kRun, .worker = 1, .cpus = 0.5}));
}

TEST(DispatchPolicyTest, AWorkerStartsWhenCpusAreFreeAndNoneIsIdle) {
  Node node{.cpus_free = 1, .workers = {Busy(1)}};
  node.AddReady();
  EXPECT_EQ(node.Next().kind, Kind::kStartWorker);
  node.max_workers = 1;  // none may start: it queues behind the running one
  EXPECT_EQ(node.Next(), (DispatchDecision{.kind = Kind::kQueue, .worker = 0}));
  node.max_workers = 256;
  node.may_start_worker = false;  // a start just failed
  EXPECT_EQ(node.Next(), (DispatchDecision{.kind = Kind::kQueue, .worker = 0}));
}

TEST(DispatchPolicyTest, WithoutFreeCpusATaskQueuesBehindTheLeastLoadedUpToThePipelineDepth) {
  Node node{.cpus_free = 0,
            .workers = {Busy(5), Busy(3), Idle(), Busy(DispatchPolicy::kPipelineDepth)}};
  node.AddReady();
  EXPECT_EQ(node.Next(), (DispatchDecision{.kind = Kind::kQueue, .worker = 1}));
  node.workers[1].steal_pending = true;  // it is handing its queue back: not to it
  EXPECT_EQ(node.Next(), (DispatchDecision{.kind = Kind::kQueue, .worker = 0}));
  node.workers[0].load = node.workers[1].load = DispatchPolicy::kPipelineDepth;
  EXPECT_EQ(node.Next().kind, Kind::kNone);  // every queue is full: it waits
}

TEST(DispatchPolicyTest, ATaskAskingMoreCpusThanTheNodeRunsWhenAllAreFree) {
  Node node{.num_cpus = 2, .cpus_free = 1.5, .workers = {Busy(1), Idle()}};
  node.AddReady(/*cpus=*/8);
  EXPECT_EQ(node.Next(), (DispatchDecision{.kind = Kind::kQueue, .worker = 0}));
  node.cpus_free = 2;
  node.workers[0] = Idle();
  EXPECT_EQ(node.Next(), (DispatchDecision{.kind = Kind::kRun, .worker = 0, .cpus = 2}));
}

TEST(DispatchPolicyTest, ANodeWhoseFirstWorkersAreOnTheirWayMakesTheTaskWait) {
  Node node;  // no worker yet, and none may start now (a start is under way)
  node.may_start_worker = false;
  node.AddReady();
  EXPECT_EQ(node.Next().kind, Kind::kNone);
}

TEST(DispatchPolicyTest, DeadAndBrokenWorkersGetNothing) {
  Node node{.workers = {Idle(), Idle(), Idle()}};
  node.workers[0].state = WorkerState::kDead;
  node.workers[1].broken = true;
  node.AddReady();
  EXPECT_EQ(node.Next(), (DispatchDecision{.kind = Kind::kRun, .worker = 2, .cpus = 1}));
}

TEST(DispatchPolicyTest, AnIdleWorkerTakesBackTheQueueOfATaskThatRunsLong) {
  Node node{.cpus_free = 1, .workers = {Busy(3), Busy(5), Idle()}};
  node.now = kNow + DispatchPolicy::kStealAfter / 2;
  EXPECT_EQ(node.StealFrom(), std::nullopt);  // short tasks: their queues drain by themselves
  node.now = kNow + DispatchPolicy::kStealAfter;
  EXPECT_EQ(node.StealFrom(), 1);  // the most queued
  node.workers[1].steal_pending = true;
  EXPECT_EQ(node.StealFrom(), 0);
  node.AddReady();
  EXPECT_EQ(node.StealFrom(), std::nullopt);  // something is ready: that goes first
  node.ready.clear();
  node.cpus_free = 0;
  EXPECT_EQ(node.StealFrom(), std::nullopt);
  node.cpus_free = 1;
  node.workers[2] = Busy(1);
  EXPECT_EQ(node.StealFrom(), std::nullopt);  // no worker idle
}

TEST(DispatchPolicyTest, AtMaxWorkersABlockedWorkerRunsTheTaskItWaitsFor) {
  TaskID child = TaskID::FromRandom();
  std::vector<ObjectID> other = {ObjectID::FromRandom()};
  std::vector<ObjectID> results = {ObjectID::ForReturn(child, 1)};
  Node node{.max_workers = 3, .workers = {BlockedIn(other), BlockedIn(results), Busy(1)}};
  node.ready.push_back(ReadyTask{child, 1});
  EXPECT_EQ(node.Next(),
            (DispatchDecision{.kind = Kind::kNest, .worker = 1, .position = 0, .cpus = 1}));
  // Nobody waits for it: it queues behind the running worker.
  node.ready[0] = ReadyTask{TaskID::FromRandom(), 1};
  EXPECT_EQ(node.Next(), (DispatchDecision{.kind = Kind::kQueue, .worker = 2}));
}

TEST(DispatchPolicyTest, WhenEveryWorkerIsBlockedOneRunsAWaitedForTaskElseTheNewest) {
  TaskID waited = TaskID::FromRandom();
  std::vector<ObjectID> a = {ObjectID::FromRandom()};
  std::vector<ObjectID> b = {ObjectID::ForReturn(waited, 2)};
  Node node{.max_workers = 2, .workers = {BlockedIn(a, 3), BlockedIn(b, 5)}};
  node.AddReady();
  node.ready.push_back(std::nullopt);  // a task that no longer exists
  node.ready.push_back(ReadyTask{waited, 1});
  node.AddReady();
  EXPECT_EQ(node.Next(),
            (DispatchDecision{.kind = Kind::kNest, .worker = 1, .position = 2, .cpus = 1}));
  // Nobody waits for a ready task: the newest runs in the worker with the fewest nested.
  node.ready[2] = ReadyTask{TaskID::FromRandom(), 1};
  EXPECT_EQ(node.Next(),
            (DispatchDecision{.kind = Kind::kNest, .worker = 0, .position = 3, .cpus = 1}));
  // One that does not fit the free CPUs is passed over.
  node.ready[3] = ReadyTask{TaskID::FromRandom(), 2};
  node.cpus_free = 1;
  EXPECT_EQ(node.Next(),
            (DispatchDecision{.kind = Kind::kNest, .worker = 0, .position = 2, .cpus = 1}));
}

TEST(DispatchPolicyTest, ATaskFailsWhenEveryWorkerIsNestedAsDeepAsAllowed) {
  std::vector<ObjectID> ids = {ObjectID::FromRandom()};
  Node node{.max_workers = 2,
            .workers = {BlockedIn(ids, DispatchPolicy::kMaxNesting),
                        BlockedIn(ids, DispatchPolicy::kMaxNesting - 1)}};
  node.AddReady();
  EXPECT_EQ(node.Next(),
            (DispatchDecision{.kind = Kind::kNest, .worker = 1, .position = 0, .cpus = 1}));
  node.workers[1].nested = DispatchPolicy::kMaxNesting;
  EXPECT_EQ(node.Next().kind, Kind::kFailCannotRun);
  // A worker in a get with a deadline moves by itself: the task waits instead.
  node.workers[1].can_suspend_its_get = false;
  EXPECT_EQ(node.Next().kind, Kind::kNone);
}

}  // namespace
}  // namespace ray::core
