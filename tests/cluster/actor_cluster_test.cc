// Actors across a cluster of real processes: a head and two nodes started by the real `ray`
// binary on 127.0.0.1, and this test's driver joining them. An actor is placed on a node with
// what it asks for and holds it for its life; its calls keep their order and its state across
// nodes; handles travel through tasks on other nodes; ray::Kill ends a process on another node;
// an actor whose node dies restarts on another (max_restarts) or fails its calls with
// ActorDiedError; no actor process is left once its driver is gone, nor once the head is killed.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "ray/api.h"
#include "tests/cluster/ray_cli.h"

namespace ray::testing {
namespace {

class Tally {
 public:
  explicit Tally(int64_t start) : value_(start) {}
  int64_t Add(int64_t x) { return value_ += x; }
  // Appends `x` to what it saw; returns how many it saw.
  int64_t Record(int64_t x) {
    seen_.push_back(x);
    return static_cast<int64_t>(seen_.size());
  }
  std::vector<int64_t> Seen() const { return seen_; }
  std::string Node() const { return ray::GetRuntimeContext().GetNodeId(); }
  int Pid() const { return getpid(); }
  bool Restarted() const { return ray::WasCurrentActorRestarted(); }
  bool IgnoreSigterm() const { return signal(SIGTERM, SIG_IGN) != SIG_ERR; }
  // Runs until `path` exists (at most a minute): a call in the middle of running.
  bool HoldUntil(std::string path) const {
    absl::Time deadline = absl::Now() + absl::Minutes(1);
    while (!std::filesystem::exists(path)) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(10));  // a pause between looks, not a timing assert
    }
    return true;
  }

 private:
  int64_t value_;
  std::vector<int64_t> seen_;
};

Tally MakeTally(int64_t start) { return Tally(start); }

// From a task: adds `x` through the handle, and says where the task ran.
std::vector<std::string> AddThrough(ray::ActorHandle<Tally> tally, int64_t x) {
  int64_t total = tally.Task(&Tally::Add).Remote(x).Get();
  return {ray::GetRuntimeContext().GetNodeId(), std::to_string(total)};
}

class ActorClusterTest : public RayCliTest {
 protected:
  void SetUp() override {
    RayCliTest::SetUp();
    setenv("RAY_HEALTH_CHECK_PERIOD_MS", "200", 1);  // the head notices a death within a second
    head_ = AddNode({.num_cpus = 1, .resources = R"({"head_box": 1})"});
    a_ = AddNode({.num_cpus = 2, .resources = R"({"a_box": 2, "pool": 1})"});
    b_ = AddNode({.num_cpus = 2, .resources = R"({"b_box": 2, "pool": 1})"});
    ray::Init({.num_workers = 1, .object_store_memory = 64 << 20, .address = address_});
  }
  void TearDown() override {
    ray::Shutdown();
    unsetenv("RAY_HEALTH_CHECK_PERIOD_MS");
    RayCliTest::TearDown();
  }
  static ray::ActorHandle<Tally> On(const std::string& resource, ray::ActorOptions options = {}) {
    options.resources = {{resource, 1}};
    return ray::Actor(MakeTally).Options(options).Remote(0);
  }
  StartedNode head_, a_, b_;
};

TEST_F(ActorClusterTest, ActorsRunOnTheNodeWithTheirResourcesAndKeepOrderAndState) {
  auto on_a = On("a_box");
  auto on_b = On("b_box");
  EXPECT_EQ(on_a.Task(&Tally::Node).Remote().Get(), a_.id);
  EXPECT_EQ(on_b.Task(&Tally::Node).Remote().Get(), b_.id);
  constexpr int64_t kCalls = 10000;
  std::vector<ray::ObjectRef<int64_t>> counts;
  for (int64_t i = 0; i < kCalls; ++i) counts.push_back(on_a.Task(&Tally::Record).Remote(i));
  EXPECT_EQ(ray::Get(counts.back()), kCalls);
  std::vector<int64_t> seen = on_a.Task(&Tally::Seen).Remote().Get();
  ASSERT_EQ(seen.size(), static_cast<size_t>(kCalls));
  for (int64_t i = 0; i < kCalls; ++i) ASSERT_EQ(seen[i], i) << "call " << i << " out of order";
  EXPECT_EQ(on_b.Task(&Tally::Seen).Remote().Get().size(), 0u);  // each has its own state
  // The actor holds its resource while it lives, and gives it back when it ends.
  EXPECT_TRUE(Within(absl::Seconds(30), [] { return ray::AvailableResources().at("a_box") == 1; }));
  int pid = on_a.Task(&Tally::Pid).Remote().Get();
  { auto gone = std::move(on_a); }
  EXPECT_TRUE(EndsWithin(pid, absl::Seconds(30)));
  EXPECT_TRUE(Within(absl::Seconds(30), [] { return ray::AvailableResources().at("a_box") == 2; }));
}

TEST_F(ActorClusterTest, HandlesTravelThroughTasksOnOtherNodes) {
  auto tally = On("a_box");
  // Tasks on B and on the head call the actor on A; the driver does too.
  auto from_b = ray::Remote(AddThrough).Options({.resources = {{"b_box", 1}}})(tally, 1);
  std::vector<std::string> b_saw = ray::Get(from_b);
  EXPECT_EQ(b_saw[0], b_.id);
  auto from_head = ray::Remote(AddThrough).Options({.resources = {{"head_box", 1}}})(tally, 10);
  std::vector<std::string> head_saw = ray::Get(from_head);
  EXPECT_EQ(head_saw[0], head_.id);
  EXPECT_EQ(tally.Task(&Tally::Add).Remote(100).Get(), 111);
  // A handle stored in an object, read on another node.
  auto stored = ray::Put(tally);
  auto via_object = ray::Remote([](ray::ActorHandle<Tally> t) {
                      return t.Task(&Tally::Add).Remote(1000).Get();
                    }).Options({.resources = {{"b_box", 1}}})(stored);
  EXPECT_EQ(ray::Get(via_object), 1111);
}

TEST_F(ActorClusterTest, KillEndsTheProcessOnItsNodeMidCall) {
  auto tally = On("b_box");
  int pid = tally.Task(&Tally::Pid).Remote().Get();
  auto held = tally.Task(&Tally::HoldUntil).Remote(tmp_ + "/never");
  tally.Kill();
  EXPECT_THROW(held.Get(absl::Seconds(60)), ray::ActorDiedError);
  EXPECT_TRUE(EndsWithin(pid, absl::Seconds(30)));
  EXPECT_THROW(tally.Task(&Tally::Pid).Remote().Get(absl::Seconds(60)), ray::ActorDiedError);
  EXPECT_TRUE(Within(absl::Seconds(30), [] { return ray::AvailableResources().at("b_box") == 2; }));
}

TEST_F(ActorClusterTest, AnActorWhoseProcessIsKilledRestartsAndRerunsItsCall) {
  auto tally = On("a_box", {.max_restarts = 1, .max_task_retries = 1});
  EXPECT_EQ(tally.Task(&Tally::Add).Remote(5).Get(), 5);
  int pid = tally.Task(&Tally::Pid).Remote().Get();
  const std::string release = tmp_ + "/release";
  auto held = tally.Task(&Tally::HoldUntil).Remote(release);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(EndsWithin(pid, absl::Seconds(30)));
  std::ofstream(release).put('x');
  EXPECT_TRUE(held.Get(absl::Seconds(60)));  // rerun in the new process
  EXPECT_NE(tally.Task(&Tally::Pid).Remote().Get(), pid);
  EXPECT_TRUE(tally.Task(&Tally::Restarted).Remote().Get());
  EXPECT_EQ(tally.Task(&Tally::Add).Remote(1).Get(), 1);  // its state started over
  EXPECT_EQ(tally.Task(&Tally::Node).Remote().Get(), a_.id);
}

TEST_F(ActorClusterTest, AnActorWhoseNodeDiesRestartsOnAnother) {
  // A call sent before the driver hears of the death counts as running: it reruns once.
  auto tally = On("pool", {.max_restarts = 1, .max_task_retries = 1});
  auto fragile = On("pool");  // no restarts: it dies with its node
  std::string node = tally.Task(&Tally::Node).Remote().Get();
  std::string fragile_node = fragile.Task(&Tally::Node).Remote().Get();
  ASSERT_TRUE(node == a_.id || node == b_.id) << node;
  ASSERT_NE(node, fragile_node);  // one "pool" per node: one actor each
  EXPECT_EQ(tally.Task(&Tally::Add).Remote(7).Get(), 7);
  const StartedNode& dying = node == a_.id ? a_ : b_;
  const StartedNode& other = node == a_.id ? b_ : a_;
  auto fragile_pending = fragile.Task(&Tally::Add).Remote(1);
  EXPECT_EQ(fragile_pending.Get(), 1);
  RemoveNode(dying, Removal::kKill);
  // Its calls wait for the restart, which needs the other node's "pool", held by `fragile`.
  auto after = tally.Task(&Tally::Node).Remote();
  fragile.Kill();
  EXPECT_EQ(after.Get(absl::Seconds(60)), other.id);
  EXPECT_TRUE(tally.Task(&Tally::Restarted).Remote().Get());
  EXPECT_EQ(tally.Task(&Tally::Add).Remote(1).Get(), 1);
}

TEST_F(ActorClusterTest, AnActorWithoutRestartsFailsWhenItsNodeDies) {
  auto tally = On("a_box");
  EXPECT_EQ(tally.Task(&Tally::Add).Remote(1).Get(), 1);
  auto held = tally.Task(&Tally::HoldUntil).Remote(tmp_ + "/never");
  RemoveNode(a_, Removal::kKill);
  try {
    held.Get(absl::Seconds(60));
    FAIL() << "a call survived its actor's node";
  } catch (const ray::ActorDiedError& e) {
    EXPECT_NE(std::string(e.what()).find("died"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tally.Task(&Tally::Add).Remote(1).Get(absl::Seconds(60)), ray::ActorDiedError);
  // What only that node had: a new actor asking for it cannot be made.
  EXPECT_THROW(On("a_box").Task(&Tally::Add).Remote(1).Get(absl::Seconds(60)), ray::ActorDiedError);
}

TEST_F(ActorClusterTest, NoActorProcessIsLeftOnceTheDriverIsGone) {
  auto on_a = On("a_box");
  auto on_b = On("b_box");
  int pids[] = {on_a.Task(&Tally::Pid).Remote().Get(), on_b.Task(&Tally::Pid).Remote().Get()};
  ray::Shutdown();
  for (int pid : pids) EXPECT_TRUE(EndsWithin(pid, absl::Seconds(30))) << "pid " << pid;
}

// A node that loses its head stops, and its workers with it, while the driver lives: SIGTERM ends
// a worker (they once inherited the node's blocked SIGTERM, and the node waited for its actor's
// worker forever), and one that ignores SIGTERM is killed after a grace.
TEST_F(ActorClusterTest, NodesAndTheirActorsEndWhenTheHeadIsKilled) {
  auto tally = On("a_box");
  auto stubborn = On("b_box");
  ASSERT_TRUE(stubborn.Task(&Tally::IgnoreSigterm).Remote().Get());
  std::vector<pid_t> workers;
  for (const auto& [actor, node] : {std::pair{&tally, &a_}, std::pair{&stubborn, &b_}}) {
    int pid = actor->Task(&Tally::Pid).Remote().Get();
    std::vector<pid_t> children = Children(node->pid);
    ASSERT_NE(std::find(children.begin(), children.end(), pid), children.end());
    workers.insert(workers.end(), children.begin(), children.end());
  }
  RemoveNode(head_, Removal::kKill);
  EXPECT_TRUE(EndsWithin(a_.pid, absl::Seconds(60)));
  EXPECT_TRUE(EndsWithin(b_.pid, absl::Seconds(60)));
  for (pid_t worker : workers) EXPECT_TRUE(EndsWithin(worker, absl::Seconds(60))) << worker;
}

}  // namespace
}  // namespace ray::testing
