// C++ actors on one node, with real worker processes: a factory makes the actor (T, T* or
// std::unique_ptr<T>), its methods (virtual and const ones too) keep its state, calls run in
// the order submitted, an exception fails only its call, the destructor runs when the last
// handle is gone, Kill and a process that dies end it (ActorDiedError) unless it may restart,
// and a call waiting for its argument waits alone.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "absl/time/clock.h"
#include "ray/api.h"
#include "tests/api/process_waits.h"

namespace {

using ray_test::ProcessEnds;
using ray_test::WaitForFile;

class Counter {
 public:
  Counter(int start, std::string goodbye) : value_(start), goodbye_(std::move(goodbye)) {}
  virtual ~Counter() {
    if (!goodbye_.empty()) std::ofstream(goodbye_) << "value " << value_;
  }
  int Add(int x) { return value_ += x; }
  int Value() const { return value_; }
  virtual std::string Kind() const { return "counter"; }
  int AddOrThrow(int x) {
    if (x < 0) throw std::invalid_argument("negative");
    return value_ += x;
  }
  int Pid() const { return getpid(); }
  // Dies the first time (`marker` does not exist yet), else adds.
  int AddOrDieOnce(int x, std::string marker) {
    if (!std::filesystem::exists(marker)) {
      std::ofstream(marker) << "died";
      raise(SIGKILL);
    }
    return value_ += x;
  }
  void Die() { raise(SIGKILL); }
  int Leave() {
    ray::ExitActor();
    return value_;  // never reached
  }
  bool Restarted() const { return ray::WasCurrentActorRestarted(); }
  int AddSlowly(int x, int unused) { return value_ += x + unused * 0; }

 private:
  int value_;
  std::string goodbye_;
};

class LoudCounter : public Counter {
 public:
  using Counter::Counter;
  std::string Kind() const override { return "loud"; }
};

// Two bases: a method of the second, called through a pointer to a member of Both, adjusts
// `this` (the member pointer's second word is not 0).
class Named {
 public:
  virtual ~Named() = default;
  std::string Name() const { return name_; }

 private:
  std::string name_ = "both";
};
class Both : public Counter, public Named {
 public:
  Both() : Counter(7, "") {}
};
Both* MakeBoth() { return new Both; }

Counter* MakeCounter(int start) { return new Counter(start, ""); }
Counter MakeCounterByValue(int start) { return Counter(start, ""); }
std::unique_ptr<Counter> MakeLoud(int start, std::string goodbye) {
  return std::make_unique<LoudCounter>(start, std::move(goodbye));
}
Counter* FailToMake(int) { throw std::runtime_error("no counter today"); }

// Tasks that get, make and kill actors through handles.
int AddThrough(ray::ActorHandle<Counter> counter, int x) {
  return counter.Task(&Counter::Add).Remote(x).Get();
}
ray::ActorHandle<Counter> MakeInTask(int start) { return ray::Actor(MakeCounter).Remote(start); }
void KillThrough(ray::ActorHandle<Counter> counter) { counter.Kill(); }
// `n` calls of Add(1) from this task, checked in order: the values it saw.
std::vector<int> AddManyThrough(ray::ActorHandle<Counter> counter, int n) {
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < n; ++i) refs.push_back(counter.Task(&Counter::Add).Remote(1));
  return ray::Get(refs);
}

// Finds the actor named `name` and adds to it.
int AddToNamed(std::string name, int x) {
  std::optional<ray::ActorHandle<Counter>> found = ray::GetActor<Counter>(name);
  if (!found) return -1;
  return found->Task(&Counter::Add).Remote(x).Get();
}

// Makes an actor named `name` (it ends with this task); whether Remote() took the name.
bool MakeNamed(std::string name) {
  try {
    ray::Actor(MakeCounter).Options({.name = name}).Remote(0);
    return true;
  } catch (const ray::RayError&) {
    return false;
  }
}

int WhenFileExists(std::string path) {
  WaitForFile(path, absl::Seconds(60));
  return 7;
}

class ActorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "/actor_test_" + std::to_string(getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
    ray::Init({.num_workers = 2, .object_store_memory = 64 << 20});
  }
  void TearDown() override { ray::Shutdown(); }
  std::string dir_;
};

TEST_F(ActorTest, MethodsKeepTheActorsState) {
  ray::ActorHandle<Counter> c = ray::Actor(MakeCounter).Remote(10);
  EXPECT_EQ(c.Task(&Counter::Add).Remote(5).Get(), 15);
  EXPECT_EQ(c.Task(&Counter::Value).Remote().Get(), 15);
  ray::ActorHandle<Counter> copy = c;  // handles are values
  EXPECT_EQ(copy.Task(&Counter::Add).Remote(1).Get(), 16);
  // A method's process is the actor's own, the same for every call.
  int pid = c.Task(&Counter::Pid).Remote().Get();
  EXPECT_NE(pid, getpid());
  EXPECT_EQ(c.Task(&Counter::Pid).Remote().Get(), pid);
  // A factory returning T by value works the same.
  auto by_value = ray::Actor(MakeCounterByValue).Remote(3);
  EXPECT_EQ(by_value.Task(&Counter::Add).Remote(4).Get(), 7);
  EXPECT_NE(by_value.Task(&Counter::Pid).Remote().Get(), pid);
}

TEST_F(ActorTest, TenThousandCallsRunInTheOrderSubmitted) {
  auto c = ray::Actor(MakeCounter).Remote(0);
  std::vector<ray::ObjectRef<int>> sums;
  for (int i = 1; i <= 10000; ++i) sums.push_back(c.Task(&Counter::Add).Remote(i));
  std::vector<int> got = ray::Get(sums);
  int expected = 0;
  for (int i = 1; i <= 10000; ++i) {
    expected += i;
    ASSERT_EQ(got[i - 1], expected) << "call " << i;
  }
}

TEST_F(ActorTest, VirtualMethodsDispatchOnTheActorsClass) {
  auto loud = ray::Actor(MakeLoud).Remote(1, std::string());
  EXPECT_EQ(loud.Task(&Counter::Kind).Remote().Get(), "loud");
  EXPECT_EQ(loud.Task(&Counter::Add).Remote(2).Get(), 3);
}

TEST_F(ActorTest, MethodsOfEveryBaseWork) {
  auto both = ray::Actor(MakeBoth).Remote();
  EXPECT_EQ(both.Task(&Named::Name).Remote().Get(), "both");
  auto adjusted = static_cast<std::string (Both::*)() const>(&Named::Name);
  EXPECT_EQ(both.Task(adjusted).Remote().Get(), "both");
  EXPECT_EQ(both.Task(&Counter::Add).Remote(1).Get(), 8);
}

TEST_F(ActorTest, AnExceptionFailsItsCallAndTheActorKeepsItsState) {
  auto c = ray::Actor(MakeCounter).Remote(5);
  auto failed = c.Task(&Counter::AddOrThrow).Remote(-1);
  try {
    failed.Get();
    FAIL() << "a negative add succeeded";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.exception_type(), "std::invalid_argument");
    EXPECT_EQ(e.message(), "negative");
  }
  EXPECT_EQ(c.Task(&Counter::AddOrThrow).Remote(2).Get(), 7);
}

TEST_F(ActorTest, TheDestructorRunsWhenTheLastHandleIsGone) {
  const std::string goodbye = dir_ + "/goodbye";
  {
    auto c = ray::Actor(MakeLoud).Remote(1, goodbye);
    auto sum = c.Task(&Counter::Add).Remote(41);
    EXPECT_EQ(sum.Get(), 42);
  }
  EXPECT_EQ(WaitForFile(goodbye), "value 42");
}

TEST_F(ActorTest, AFactoryThatThrowsFailsTheCallsWithActorDiedError) {
  auto c = ray::Actor(FailToMake).Remote(1);
  try {
    c.Task(&Counter::Value).Remote().Get();
    FAIL() << "a call on an actor that was never made succeeded";
  } catch (const ray::ActorDiedError& e) {
    EXPECT_NE(
        std::string(e.what()).find("its factory failed: std::runtime_error: no counter today"),
        std::string::npos)
        << e.what();
  }
}

TEST_F(ActorTest, KillEndsTheActorAndItsLaterCallsFail) {
  auto c = ray::Actor(MakeCounter).Remote(1);
  int pid = c.Task(&Counter::Pid).Remote().Get();
  c.Kill();
  try {
    c.Task(&Counter::Value).Remote().Get();
    FAIL() << "a call on a killed actor succeeded";
  } catch (const ray::ActorDiedError& e) {
    EXPECT_NE(std::string(e.what()).find("killed by ray::Kill"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(ProcessEnds(pid)) << "the actor's process " << pid << " still runs";
}

TEST_F(ActorTest, AProcessThatDiesRestartsTheActorWhileMaxRestartsAllows) {
  auto c = ray::Actor(MakeCounter).Options({.max_restarts = 1}).Remote(100);
  int first = c.Task(&Counter::Pid).Remote().Get();
  EXPECT_EQ(c.Task(&Counter::Add).Remote(1).Get(), 101);
  auto died = c.Task(&Counter::Die).Remote();
  EXPECT_THROW(died.Get(), ray::ActorDiedError);  // max_task_retries = 0
  // The factory ran again: its state starts over, in another process.
  EXPECT_EQ(c.Task(&Counter::Value).Remote().Get(), 100);
  EXPECT_NE(c.Task(&Counter::Pid).Remote().Get(), first);
  // No restarts left: the next death is final.
  EXPECT_THROW(c.Task(&Counter::Die).Remote().Get(), ray::ActorDiedError);
  EXPECT_THROW(c.Task(&Counter::Value).Remote().Get(), ray::ActorDiedError);
}

TEST_F(ActorTest, MaxTaskRetriesRerunsTheCallItsProcessDiedIn) {
  auto c = ray::Actor(MakeCounter).Options({.max_restarts = 1, .max_task_retries = 1}).Remote(10);
  auto queued_behind = c.Task(&Counter::Add).Remote(0);  // before the death: runs first
  EXPECT_EQ(c.Task(&Counter::AddOrDieOnce).Remote(5, dir_ + "/marker").Get(), 15);
  EXPECT_EQ(queued_behind.Get(), 10);
  EXPECT_EQ(WaitForFile(dir_ + "/marker"), "died");
}

TEST_F(ActorTest, ACallWaitingForItsArgumentWaitsAlone) {
  auto c = ray::Actor(MakeCounter).Remote(0);
  auto gate = dir_ + "/gate";
  ray::ObjectRef<int> later = ray::Remote(WhenFileExists)(gate);
  auto waiting = c.Task(&Counter::AddSlowly).Remote(1, later);
  // Submitted after it, with its argument at hand: runs while the first one waits.
  EXPECT_EQ(c.Task(&Counter::Add).Remote(10).Get(), 10);
  std::ofstream(gate) << "open";
  EXPECT_EQ(waiting.Get(), 11);
}

TEST_F(ActorTest, ExitActorEndsItForGoodAndItsDestructorRuns) {
  const std::string goodbye = dir_ + "/goodbye";
  auto c = ray::Actor(MakeLoud).Options({.max_restarts = -1}).Remote(5, goodbye);
  EXPECT_EQ(c.Task(&Counter::Add).Remote(1).Get(), 6);
  try {
    c.Task(&Counter::Leave).Remote().Get();
    FAIL() << "the call that exits returned";
  } catch (const ray::ActorDiedError& e) {
    EXPECT_NE(std::string(e.what()).find("the actor exited (ray::ExitActor)"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(WaitForFile(goodbye), "value 6");
  try {
    c.Task(&Counter::Value).Remote().Get();
    FAIL() << "an actor that exited answered (it restarted?)";
  } catch (const ray::ActorDiedError& e) {
    EXPECT_NE(std::string(e.what()).find("it exited (ray::ExitActor)"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ray::ExitActor(), ray::RayError);  // not in an actor
}

TEST_F(ActorTest, WasCurrentActorRestartedSaysWhetherTheFactoryRanBefore) {
  auto c = ray::Actor(MakeCounter).Options({.max_restarts = 1}).Remote(0);
  EXPECT_FALSE(c.Task(&Counter::Restarted).Remote().Get());
  EXPECT_THROW(c.Task(&Counter::Die).Remote().Get(), ray::ActorDiedError);
  EXPECT_TRUE(c.Task(&Counter::Restarted).Remote().Get());
  EXPECT_THROW(ray::WasCurrentActorRestarted(), ray::RayError);
}

TEST_F(ActorTest, NamedActorsAreFoundByNameAndType) {
  auto c = ray::Actor(MakeCounter).Options({.name = "tally"}).Remote(10);
  std::optional<ray::ActorHandle<Counter>> found = ray::GetActor<Counter>("tally");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->Task(&Counter::Add).Remote(1).Get(), 11);
  EXPECT_EQ(ray::Remote(AddToNamed)("tally", 2).Get(), 13);  // from a task too
  EXPECT_EQ(ray::Remote(AddToNamed)("nobody", 2).Get(), -1);
  EXPECT_FALSE(ray::GetActor<Counter>("nobody").has_value());
  EXPECT_THROW(ray::GetActor<Named>("tally"), ray::RayError);  // another class
  // A name in use: Remote() refuses the second actor, in the driver and in a task.
  try {
    ray::Actor(MakeCounter).Options({.name = "tally"}).Remote(0);
    FAIL() << "two actors got one name";
  } catch (const ray::RayError& e) {
    EXPECT_NE(std::string(e.what()).find("the name is taken"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(ray::Remote(MakeNamed)("tally").Get());
  EXPECT_TRUE(ray::Remote(MakeNamed)("other").Get());
  // Once the actor is dead the name is free.
  c.Kill();
  EXPECT_THROW(found->Task(&Counter::Value).Remote().Get(), ray::ActorDiedError);
  EXPECT_FALSE(ray::GetActor<Counter>("tally").has_value());
  auto again = ray::Actor(MakeCounter).Options({.name = "tally"}).Remote(5);
  EXPECT_EQ(ray::GetActor<Counter>("tally")->Task(&Counter::Value).Remote().Get(), 5);
}

TEST_F(ActorTest, OptionsOutOfRangeAreRefused) {
  auto refused = [](const ray::ActorOptions& options, const std::string& why) {
    try {
      ray::Actor(MakeCounter).Options(options).Remote(0);
      ADD_FAILURE() << "accepted: " << why;
    } catch (const ray::RayError& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  refused({.num_cpus = -1}, "num_cpus = -1");
  refused({.max_restarts = -2}, "max_restarts = -2: it must be >= 0, or -1");
  refused({.num_cpus = std::numeric_limits<double>::quiet_NaN()}, "num_cpus = nan");
  refused({.max_concurrency = 0}, "max_concurrency = 0: must be 1 to 10000");
  refused({.max_concurrency = 10001}, "max_concurrency = 10001: must be 1 to 10000");
}

TEST_F(ActorTest, ADetachedActorOutlivesItsHandlesUntilKilled) {
  int pid = 0;
  {
    auto c = ray::Actor(MakeCounter)
                 .Options({.name = "keeper", .lifetime = ray::ActorLifetime::kDetached})
                 .Remote(1);
    EXPECT_EQ(c.Task(&Counter::Add).Remote(1).Get(), 2);
    pid = c.Task(&Counter::Pid).Remote().Get();
  }
  // No handle is left, and the actor is still there, its state kept.
  auto found = ray::GetActor<Counter>("keeper");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->Task(&Counter::Add).Remote(1).Get(), 3);
  EXPECT_EQ(found->Task(&Counter::Pid).Remote().Get(), pid);
  found->Kill();
  EXPECT_TRUE(ProcessEnds(pid)) << "the actor's process " << pid << " still runs";
  EXPECT_FALSE(ray::GetActor<Counter>("keeper").has_value());
}

TEST_F(ActorTest, AnActorHoldsItsResourcesForItsLife) {
  ray::Shutdown();
  ray::Init({.num_workers = 2, .object_store_memory = 64 << 20, .resources = {{"box", 1}}});
  auto first = ray::Actor(MakeCounter).Options({.resources = {{"box", 1}}}).Remote(1);
  EXPECT_EQ(first.Task(&Counter::Value).Remote().Get(), 1);
  EXPECT_EQ(ray::AvailableResources().at("box"), 0);
  // A second one waits for the box, held by the first until it ends.
  auto second = ray::Actor(MakeCounter).Options({.resources = {{"box", 1}}}).Remote(2);
  auto waiting = second.Task(&Counter::Value).Remote();
  EXPECT_TRUE(ray::Wait(std::vector{waiting}, 1, absl::Milliseconds(300)).ready.empty());
  first.Kill();
  EXPECT_EQ(waiting.Get(), 2);
  // What no node has: the actor cannot be made, and its calls say why.
  auto nowhere = ray::Actor(MakeCounter).Options({.resources = {{"gpu_box", 1}}}).Remote(3);
  try {
    nowhere.Task(&Counter::Value).Remote().Get();
    FAIL() << "an actor was made without its resources";
  } catch (const ray::ActorDiedError& e) {
    EXPECT_NE(std::string(e.what()).find("gpu_box"), std::string::npos) << e.what();
  }
}

TEST_F(ActorTest, HandlesTravelIntoTasksOutOfTasksAndIntoObjects) {
  auto c = ray::Actor(MakeCounter).Remote(1);
  EXPECT_EQ(ray::Remote(AddThrough)(c, 2).Get(), 3);
  // Made in a task and returned: the handle keeps the actor alive once the task is done.
  ray::ActorHandle<Counter> made = ray::Remote(MakeInTask)(40).Get();
  EXPECT_EQ(made.Task(&Counter::Add).Remote(2).Get(), 42);
  // Stored in an object, then read back.
  ray::ObjectRef<ray::ActorHandle<Counter>> stored = ray::Put(made);
  EXPECT_EQ(stored.Get().Task(&Counter::Value).Remote().Get(), 42);
  // Killed from a task.
  ray::Remote(KillThrough)(made).Get();
  EXPECT_THROW(made.Task(&Counter::Value).Remote().Get(), ray::ActorDiedError);
  EXPECT_EQ(c.Task(&Counter::Value).Remote().Get(), 3);  // another actor: untouched
}

TEST_F(ActorTest, TwoCallersEachSeeTheirCallsInOrder) {
  auto c = ray::Actor(MakeCounter).Remote(0);
  auto from_task = ray::Remote(AddManyThrough)(c, 500);
  std::vector<ray::ObjectRef<int>> mine;
  for (int i = 0; i < 500; ++i) mine.push_back(c.Task(&Counter::Add).Remote(1));
  std::vector<int> theirs = from_task.Get();
  std::vector<int> ours = ray::Get(mine);
  EXPECT_TRUE(std::is_sorted(theirs.begin(), theirs.end()) &&
              std::adjacent_find(theirs.begin(), theirs.end()) == theirs.end());
  EXPECT_TRUE(std::is_sorted(ours.begin(), ours.end()) &&
              std::adjacent_find(ours.begin(), ours.end()) == ours.end());
  EXPECT_EQ(c.Task(&Counter::Value).Remote().Get(), 1000);
}

}  // namespace

TEST_F(ActorTest, AHandleFromAnEarlierSessionIsRefused) {
  auto c = ray::Actor(MakeCounter).Remote(1);
  EXPECT_EQ(c.Task(&Counter::Value).Remote().Get(), 1);
  ray::Shutdown();
  ray::Init({.num_workers = 1, .object_store_memory = 64 << 20});
  EXPECT_THROW(c.Task(&Counter::Value).Remote().Get(), ray::RayError);
  EXPECT_THROW(c.Kill(), ray::RayError);
  auto fresh = ray::Actor(MakeCounter).Remote(2);  // this session's actors work
  EXPECT_EQ(fresh.Task(&Counter::Value).Remote().Get(), 2);
}
