// Failures in a cluster of real processes: a node SIGKILLed in the middle of a workload (its
// tasks rerun on the other nodes, an object only it held is a typed ObjectLostError, the head
// holds it dead, nothing hangs), and a driver SIGKILLed (no worker, object or folder of it is
// left on any node).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "ray/api.h"
#include "ray/store/client.h"
#include "tests/cluster/ray_cli.h"

namespace ray::testing {
namespace {

// Sleeps `ms` (a task that holds its CPU a while, so that the workload spreads over the nodes).
std::string Nap(int ms) {
  absl::SleepFor(absl::Milliseconds(ms));
  return ray::GetRuntimeContext().GetNodeId();
}

std::vector<uint8_t> Bytes(int64_t n) { return std::vector<uint8_t>(n, 7); }

// The bytes a node's store holds now.
uint64_t StoreUsed(const StartedNode& node) {
  auto store = store::StoreClient::Connect(node.folder + "/store.sock", {.name = "test"});
  if (!store.ok()) return ~uint64_t{0};
  auto stats = (*store)->Stats();
  return stats.ok() ? stats->used : ~uint64_t{0};
}

class NodeFailureTest : public RayCliTest {
 protected:
  void SetUp() override {
    RayCliTest::SetUp();
    setenv("RAY_HEALTH_CHECK_PERIOD_MS", "200", 1);  // the head notices a death within a second
    head_ = AddNode({.num_cpus = 2, .object_store_memory = "64M"});
    a_ = AddNode({.num_cpus = 2, .resources = R"({"a_box": 1})", .object_store_memory = "64M"});
    b_ = AddNode({.num_cpus = 2, .resources = R"({"b_box": 1})", .object_store_memory = "64M"});
  }
  void TearDown() override {
    ray::Shutdown();
    unsetenv("RAY_HEALTH_CHECK_PERIOD_MS");
    RayCliTest::TearDown();
  }
  StartedNode head_, a_, b_;
};

TEST_F(NodeFailureTest, ANodeKilledMidWorkloadLosesNoResultThatRetriesCanMake) {
  ray::Init(
      {.num_workers = 1, .num_cpus = 1, .object_store_memory = 64 << 20, .address = address_});
  // An object only node A holds, and a task running there when it dies.
  auto only_on_a = ray::Remote(Bytes).Options({.resources = {{"a_box", 1}}})(1 << 20);
  ray::Wait(std::vector{only_on_a}, 1, absl::Seconds(30));
  std::vector<ray::ObjectRef<std::string>> naps;
  for (int i = 0; i < 30; ++i) naps.push_back(ray::Remote(Nap)(300));
  // Some of them have run (the workload is spread and under way): kill node A.
  ray::Wait(naps, 3, absl::Seconds(30));
  RemoveNode(a_, Removal::kKill);
  std::vector<std::string> ran = ray::Get(naps, absl::Seconds(60));  // each reruns where it can
  ASSERT_EQ(ran.size(), naps.size());
  for (const std::string& node : ran) EXPECT_FALSE(node.empty());
  EXPECT_THROW(ray::Get(only_on_a, absl::Seconds(60)), ray::ObjectLostError);
  std::string status = StatusUntil(
      [](const std::string& out) { return out.find("3 alive, 1 dead") != std::string::npos; });
  EXPECT_NE(status.find(a_.id + " 127.0.0.1 dead"), std::string::npos) << status;
  // Later tasks go to the nodes alive, and one that asks for what only A had fails clearly.
  EXPECT_NE(ray::Get(ray::Remote(Nap)(1)), a_.id);
  EXPECT_THROW(ray::Get(ray::Remote(Nap).Options({.resources = {{"a_box", 1}}})(1)), ray::RayError);
}

TEST_F(NodeFailureTest, ANodeRemovedGracefullyMidWorkloadLosesNoResult) {
  ray::Init(
      {.num_workers = 1, .num_cpus = 1, .object_store_memory = 64 << 20, .address = address_});
  std::vector<ray::ObjectRef<std::string>> naps;
  for (int i = 0; i < 30; ++i) naps.push_back(ray::Remote(Nap)(200));
  ray::Wait(naps, 3, absl::Seconds(30));
  RemoveNode(b_, Removal::kGraceful);
  std::vector<std::string> ran = ray::Get(naps, absl::Seconds(60));
  EXPECT_EQ(ran.size(), naps.size());
  StatusUntil(
      [](const std::string& out) { return out.find("3 alive, 1 dead") != std::string::npos; });
  EXPECT_NE(ray::Get(ray::Remote(Nap)(1)), b_.id);
}

TEST_F(NodeFailureTest, ADriverKilledLeavesNothingOnAnyNode) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t driver = fork();
  if (driver == 0) {  // the driver: objects and workers on A and B, then it waits to be killed
    close(ready[0]);
    ray::Init({.num_workers = 1, .object_store_memory = 64 << 20, .address = address_});
    auto on_a = ray::Remote(Bytes).Options({.resources = {{"a_box", 1}}})(4 << 20);
    auto on_b = ray::Remote(Bytes).Options({.resources = {{"b_box", 1}}})(4 << 20);
    auto copied = ray::Remote(Nap).Options({.resources = {{"b_box", 1}}})(1);
    bool ok = ray::Get(on_a).size() == (4u << 20) && ray::Get(on_b).size() == (4u << 20) &&
              !ray::Get(copied).empty();
    std::string session = ray::GetRuntimeContext().GetNodeId();
    (void)!write(ready[1], ok ? "ok" : "no", 2);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char answer[2] = {};
  ASSERT_EQ(read(ready[0], answer, 2), 2);
  close(ready[0]);
  ASSERT_EQ(std::string(answer, 2), "ok");
  EXPECT_GT(StoreUsed(a_), 0u);
  EXPECT_GT(StoreUsed(b_), 0u);
  EXPECT_GT(Children(a_.pid).size(), 1u);  // its store and the driver's workers
  ASSERT_EQ(kill(driver, SIGKILL), 0);
  waitpid(driver, nullptr, 0);
  for (const StartedNode* node : {&head_, &a_, &b_}) {
    EXPECT_TRUE(Within(absl::Seconds(30), [&] { return StoreUsed(*node) == 0; }))
        << "node " << node->id << " still holds " << StoreUsed(*node) << " bytes";
    EXPECT_TRUE(Within(absl::Seconds(30), [&] { return Children(node->pid).size() == 1; }))
        << "node " << node->id << " still runs " << Children(node->pid).size() - 1
        << " processes of the driver";
  }
  // The driver's own node (its store and zygote) ended with it, and its folder is gone.
  EXPECT_TRUE(Within(absl::Seconds(30), [&] {
    for (const auto& entry : std::filesystem::directory_iterator(tmp_)) {
      if (entry.path().filename().string().starts_with("ray-session")) return false;
    }
    return true;
  }));
}

}  // namespace
}  // namespace ray::testing
