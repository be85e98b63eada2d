// C++ actors with max_concurrency > 1, with real worker processes: that many calls run at once
// (proven by a barrier they can pass only together, and never more), an actor without it still
// runs one call at a time in order, an exception fails only its call, a call blocked in a get
// lets the others run (and their own gets and waits are answered meanwhile), call threads that
// submit tasks of a new function at once all have them run, a process that dies
// fails (or retries) the calls it was running and reruns those queued behind them, and
// ray::ExitActor ends the actor once its running calls end.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "ray/api.h"
#include "tests/api/process_waits.h"

namespace {

using ray_test::WaitForFile;

// An actor whose calls meet: it counts the calls inside it at once.
class Room {
 public:
  explicit Room(std::string goodbye) : goodbye_(std::move(goodbye)) {}
  ~Room() {
    if (!goodbye_.empty()) std::ofstream(goodbye_) << "total " << total_;
  }
  // Waits (at most 60 s) until `n` calls are in here waiting together, as a barrier that opens
  // for each `n` that arrive; `n` if they met, -1 if the bound passed first.
  int Meet(int n) {
    std::unique_lock lock(mu_);
    Enter();
    const int generation = generation_;
    if (++arrived_ == n) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
    } else {
      cv_.wait_for(lock, std::chrono::seconds(60), [&] { return generation_ != generation; });
    }
    const bool met = generation_ != generation;
    if (!met) --arrived_;
    --inside_;
    return met ? n : -1;
  }
  int MeetOrThrow(int n, bool fail) {
    int met = Meet(n);
    if (fail) throw std::runtime_error("this call fails after the meeting");
    return met;
  }
  // One call at a time or not: counts itself in, gives other threads a chance, and out.
  int Step(int i) {
    {
      std::lock_guard lock(mu_);
      Enter();
      order_.push_back(i);
    }
    for (int k = 0; k < 20; ++k) std::this_thread::yield();
    std::lock_guard lock(mu_);
    --inside_;
    return i;
  }
  std::vector<int> Order() const {
    std::lock_guard lock(mu_);
    return order_;
  }
  int MostInside() const {
    std::lock_guard lock(mu_);
    return most_inside_;
  }
  int Add(int x) {
    std::lock_guard lock(mu_);
    return total_ += x;
  }
  int Pid() const { return getpid(); }
  // Says it started (`dir`/started_i), then waits for `dir`/release (at most 60 s).
  int Hold(std::string dir, int i) {
    std::ofstream(dir + "/started_" + std::to_string(i)) << "in";
    WaitForFile(dir + "/release");
    return i;
  }
  // Blocks in a get of a task that returns once `gate` exists.
  int GetThroughTask(std::string gate);
  // The same, in ray::Get or (`wait`) ray::Wait first; it writes `asking` just before it asks.
  int AskThroughTask(std::string gate, std::string asking, bool wait);
  // Gets (or waits for) an object it puts: it exists at once, and the get asks the scheduler
  // (a small put goes there, not to the store).
  int GetReady() { return ray::Put(42).Get(); }
  int WaitReady() {
    auto ref = ray::Put(43);
    return ray::Wait(std::vector{ref}, 1).ready.size() == 1 ? ref.Get() : -1;
  }
  int Leave() {
    ray::ExitActor();
    return 0;  // never reached
  }
  // Meets `n` calls, then submits a task of PlusN<N> and gets it: `n` call threads send the
  // first task of a function new to the scheduler at once.
  template <int N>
  int SubmitTogether(int n);

 private:
  void Enter() {
    ++inside_;
    most_inside_ = std::max(most_inside_, inside_);
  }
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0, generation_ = 0, inside_ = 0, most_inside_ = 0, total_ = 0;
  std::vector<int> order_;
  std::string goodbye_;
};

int WhenFileExists(std::string path) {
  WaitForFile(path);
  return 7;
}

template <int N>
int PlusN(int x) {
  return x + N;
}

template <int N>
int Room::SubmitTogether(int n) {
  if (Meet(n) != n) return -1;
  return ray::Remote(PlusN<N>)(1).Get();
}

int Room::GetThroughTask(std::string gate) { return ray::Remote(WhenFileExists)(gate).Get(); }

int Room::AskThroughTask(std::string gate, std::string asking, bool wait) {
  auto ref = ray::Remote(WhenFileExists)(gate);
  std::ofstream(asking) << "asking";
  if (wait && ray::Wait(std::vector{ref}, 1).ready.size() != 1) return -1;
  return ref.Get();
}

Room* MakeRoom(std::string goodbye) { return new Room(std::move(goodbye)); }
Room* FailToMakeRoom(std::string) { throw std::runtime_error("no room today"); }

class ActorConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "/actor_concurrency_test_" + std::to_string(getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
    ray::Init({.num_workers = 2, .object_store_memory = 64 << 20});
  }
  void TearDown() override { ray::Shutdown(); }
  std::string dir_;
};

TEST_F(ActorConcurrencyTest, MaxConcurrencyCallsRunAtOnceAndNoMore) {
  auto room = ray::Actor(MakeRoom).Options({.max_concurrency = 4}).Remote("");
  // Eight calls that pass a barrier for four: two meetings, four calls at once each.
  std::vector<ray::ObjectRef<int>> meetings;
  for (int i = 0; i < 8; ++i) meetings.push_back(room.Task(&Room::Meet).Remote(4));
  for (int met : ray::Get(meetings)) EXPECT_EQ(met, 4);
  EXPECT_EQ(room.Task(&Room::MostInside).Remote().Get(), 4);
}

TEST_F(ActorConcurrencyTest, WithoutItCallsRunOneAtATimeInOrder) {
  auto room = ray::Actor(MakeRoom).Remote("");  // max_concurrency = 1
  std::vector<ray::ObjectRef<int>> steps;
  for (int i = 0; i < 2000; ++i) steps.push_back(room.Task(&Room::Step).Remote(i));
  ray::Get(steps);
  std::vector<int> order = room.Task(&Room::Order).Remote().Get();
  ASSERT_EQ(order.size(), 2000u);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(order[i], i);
  EXPECT_EQ(room.Task(&Room::MostInside).Remote().Get(), 1);
}

TEST_F(ActorConcurrencyTest, AnExceptionFailsOnlyItsCall) {
  auto room = ray::Actor(MakeRoom).Options({.max_concurrency = 3}).Remote("");
  EXPECT_EQ(room.Task(&Room::Add).Remote(5).Get(), 5);
  auto a = room.Task(&Room::MeetOrThrow).Remote(3, false);
  auto b = room.Task(&Room::MeetOrThrow).Remote(3, true);
  auto c = room.Task(&Room::MeetOrThrow).Remote(3, false);
  EXPECT_EQ(a.Get(), 3);
  EXPECT_EQ(c.Get(), 3);
  try {
    b.Get();
    FAIL() << "the call that throws returned";
  } catch (const ray::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("fails after the meeting"), std::string::npos) << e.what();
  }
  EXPECT_EQ(room.Task(&Room::Add).Remote(1).Get(), 6);  // its state is kept
}

TEST_F(ActorConcurrencyTest, ACallBlockedInAGetLetsTheOthersRun) {
  auto room = ray::Actor(MakeRoom).Options({.max_concurrency = 3}).Remote("");
  auto first = room.Task(&Room::GetThroughTask).Remote(dir_ + "/gate1");
  auto second = room.Task(&Room::GetThroughTask).Remote(dir_ + "/gate2");
  // Both wait in their gets (each its own request); the third thread runs calls.
  for (int i = 1; i <= 50; ++i) EXPECT_EQ(room.Task(&Room::Add).Remote(1).Get(), i);
  std::ofstream(dir_ + "/gate2") << "open";
  EXPECT_EQ(second.Get(), 7);
  std::ofstream(dir_ + "/gate1") << "open";
  EXPECT_EQ(first.Get(), 7);
  EXPECT_EQ(room.Task(&Room::Add).Remote(0).Get(), 50);
}

// Rounds of eight calls leave a barrier together and submit a task of a function new to the
// scheduler at once (each round its own): every task arrives with its function defined (a task
// sent before the message that defines its function was dropped, and its get failed; a race that
// this test caught in about one run of five before the fix).
template <int... N>
std::vector<ray::ObjectRef<int>> SubmitRounds(ray::ActorHandle<Room>& room, int threads,
                                              std::integer_sequence<int, N...>) {
  std::vector<ray::ObjectRef<int>> calls;
  auto round = [&](auto method) {
    for (int k = 0; k < threads; ++k) calls.push_back(room.Task(method).Remote(threads));
  };
  (round(&Room::SubmitTogether<N>), ...);
  return calls;
}

TEST_F(ActorConcurrencyTest, CallThreadsSubmittingANewFunctionAtOnceAllHaveTheirTasks) {
  constexpr int kRounds = 32, kThreads = 8;
  auto room = ray::Actor(MakeRoom).Options({.max_concurrency = kThreads}).Remote("");
  std::vector<ray::ObjectRef<int>> calls =
      SubmitRounds(room, kThreads, std::make_integer_sequence<int, kRounds>());
  std::vector<int> expected;
  for (int n = 0; n < kRounds; ++n) expected.insert(expected.end(), kThreads, n + 1);
  EXPECT_EQ(ray::Get(calls), expected);
}

// Each call thread has its own request in flight: a get (or wait) whose object exists is
// answered while another call's waits (that one cannot end before the test opens its gate).
class RequestsInFlightTest : public ActorConcurrencyTest,
                             public ::testing::WithParamInterface<bool> {};

TEST_P(RequestsInFlightTest, ARequestForAnObjectThatExistsReturnsWhileAnotherCallWaitsInItsOwn) {
  const bool wait = GetParam();
  auto room = ray::Actor(MakeRoom).Options({.max_concurrency = 2}).Remote("");
  auto blocked = room.Task(&Room::AskThroughTask).Remote(dir_ + "/gate", dir_ + "/asking", wait);
  WaitForFile(dir_ + "/asking");  // its request goes out first
  auto ready = wait ? room.Task(&Room::WaitReady).Remote() : room.Task(&Room::GetReady).Remote();
  ASSERT_EQ(ray::Wait(std::vector{ready}, 1, absl::Seconds(60)).ready.size(), 1u);
  EXPECT_EQ(ready.Get(), wait ? 43 : 42);
  EXPECT_TRUE(ray::Wait(std::vector{blocked}, 1, absl::ZeroDuration()).ready.empty());
  std::ofstream(dir_ + "/gate") << "open";
  EXPECT_EQ(blocked.Get(), 7);
}

INSTANTIATE_TEST_SUITE_P(GetAndWait, RequestsInFlightTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Wait" : "Get";
                         });

TEST_F(ActorConcurrencyTest, ItsProcessDyingFailsTheRunningCallsAndRerunsTheQueuedOnes) {
  auto room = ray::Actor(MakeRoom).Options({.max_restarts = 1, .max_concurrency = 4}).Remote("");
  const int pid = room.Task(&Room::Pid).Remote().Get();
  EXPECT_EQ(room.Task(&Room::Add).Remote(100).Get(), 100);
  std::vector<ray::ObjectRef<int>> held;
  for (int i = 0; i < 4; ++i) held.push_back(room.Task(&Room::Hold).Remote(dir_, i));
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(WaitForFile(dir_ + "/started_" + std::to_string(i)), "in") << "call " << i;
  }
  // Every thread is taken: these wait in the worker's queue, never started.
  auto queued1 = room.Task(&Room::Add).Remote(1);
  auto queued2 = room.Task(&Room::Add).Remote(2);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  for (auto& call : held) EXPECT_THROW(call.Get(), ray::ActorDiedError);  // max_task_retries 0
  // They ran on the restarted actor (its state starts over), in either order.
  std::set<int> totals = {queued1.Get(), queued2.Get()};
  EXPECT_TRUE(totals == std::set<int>({1, 3}) || totals == std::set<int>({2, 3}))
      << *totals.begin() << ", " << *totals.rbegin();
  EXPECT_NE(room.Task(&Room::Pid).Remote().Get(), pid);
  room.Kill();
  EXPECT_THROW(room.Task(&Room::Add).Remote(1).Get(), ray::ActorDiedError);
}

TEST_F(ActorConcurrencyTest, MaxTaskRetriesRerunsEveryCallThatWasRunning) {
  auto room = ray::Actor(MakeRoom)
                  .Options({.max_restarts = 1, .max_task_retries = 1, .max_concurrency = 3})
                  .Remote("");
  const int pid = room.Task(&Room::Pid).Remote().Get();
  std::vector<ray::ObjectRef<int>> held;
  for (int i = 0; i < 3; ++i) held.push_back(room.Task(&Room::Hold).Remote(dir_, i));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(WaitForFile(dir_ + "/started_" + std::to_string(i)), "in");
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  std::ofstream(dir_ + "/release") << "go";  // their second runs return at once
  for (int i = 0; i < 3; ++i) EXPECT_EQ(held[i].Get(), i);
  EXPECT_NE(room.Task(&Room::Pid).Remote().Get(), pid);
}

TEST_F(ActorConcurrencyTest, AFactoryThatThrowsFailsTheCalls) {
  auto room = ray::Actor(FailToMakeRoom).Options({.max_concurrency = 4}).Remote("");
  std::vector<ray::ObjectRef<int>> calls;
  for (int i = 0; i < 8; ++i) calls.push_back(room.Task(&Room::Add).Remote(1));
  for (auto& call : calls) EXPECT_THROW(call.Get(), ray::ActorDiedError);
}

TEST_F(ActorConcurrencyTest, ExitActorEndsItOnceItsRunningCallsEnd) {
  const std::string goodbye = dir_ + "/goodbye";
  auto room = ray::Actor(MakeRoom).Options({.max_concurrency = 2}).Remote(goodbye);
  EXPECT_EQ(room.Task(&Room::Add).Remote(3).Get(), 3);
  auto holding = room.Task(&Room::Hold).Remote(dir_, 0);
  ASSERT_EQ(WaitForFile(dir_ + "/started_0"), "in");
  try {
    room.Task(&Room::Leave).Remote().Get();
    FAIL() << "the call that exits returned";
  } catch (const ray::ActorDiedError& e) {
    EXPECT_NE(std::string(e.what()).find("the actor exited (ray::ExitActor)"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(goodbye)) << "destroyed while a call still ran";
  std::ofstream(dir_ + "/release") << "go";
  EXPECT_EQ(holding.Get(), 0);  // it ended before the actor did
  EXPECT_EQ(WaitForFile(goodbye), "total 3");
  EXPECT_THROW(room.Task(&Room::Add).Remote(1).Get(), ray::ActorDiedError);
}

}  // namespace
