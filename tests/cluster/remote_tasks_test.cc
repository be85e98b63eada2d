// Tasks on every node of a cluster: a head and two nodes started by the real `ray` binary on
// 127.0.0.1, and this test's driver joining them. Tasks pinned by custom resources run on the
// node that has them (from this program, shipped through the head), objects made on one node
// are read on the others (copied between their stores), chains and nested tasks hop across
// nodes, and a task asking for what no node has fails with a clear error.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <numeric>

#include "ray/api.h"
#include "ray/cluster/head_client.h"
#include "ray/cluster/local_files.h"
#include "tests/cluster/byte_pattern.h"
#include "tests/cluster/ray_cli.h"

namespace ray::testing {
namespace {

std::string WhereAmI() { return ray::GetRuntimeContext().GetNodeId(); }

// Whether `bytes` is Pattern(n, seed), and where this ran.
std::string CheckBig(ray::ArrayView<uint8_t> bytes, int64_t n, int seed) {
  return (IsPattern(bytes, n, seed) ? "ok " : "bad ") + ray::GetRuntimeContext().GetNodeId();
}

int64_t AddOne(int64_t x) { return x + 1; }

// Runs AddOne on the node with `resource`, from inside a task: a nested task across nodes.
std::vector<std::string> NestedOn(std::string resource) {
  auto inner = ray::Remote(WhereAmI).Options({.resources = {{resource, 1}}})();
  return {ray::GetRuntimeContext().GetNodeId(), ray::Get(inner)};
}

class RemoteTasksTest : public RayCliTest {
 protected:
  void SetUp() override {
    RayCliTest::SetUp();
    head_ =
        AddNode({.num_cpus = 1, .resources = R"({"head_box": 1})", .object_store_memory = "400M"});
    a_ = AddNode({.num_cpus = 2, .resources = R"({"a_box": 2})", .object_store_memory = "400M"});
    b_ = AddNode({.num_cpus = 2, .resources = R"({"b_box": 2})", .object_store_memory = "400M"});
    ray::Init({.num_workers = 1,
               .object_store_memory = 400 << 20,
               .address = address_,
               .resources = {{"driver_box", 1}}});
  }
  void TearDown() override {
    ray::Shutdown();
    RayCliTest::TearDown();
  }
  template <typename F>
  auto On(const std::string& resource, F f) {
    return ray::Remote(f).Options({.resources = {{resource, 1}}});
  }
  StartedNode head_, a_, b_;
};

TEST_F(RemoteTasksTest, TasksPinnedByResourcesRunOnTheirNodes) {
  EXPECT_EQ(ray::Get(On("a_box", WhereAmI)()), a_.id);
  EXPECT_EQ(ray::Get(On("b_box", WhereAmI)()), b_.id);
  EXPECT_EQ(ray::Get(On("head_box", WhereAmI)()), head_.id);
  EXPECT_EQ(ray::Get(ray::Remote(WhereAmI)()), ray::GetRuntimeContext().GetNodeId());
  // Many at once: each lands where its resource is.
  std::vector<ray::ObjectRef<std::string>> on_a, on_b;
  for (int i = 0; i < 20; ++i) {
    on_a.push_back(On("a_box", WhereAmI)());
    on_b.push_back(On("b_box", WhereAmI)());
  }
  for (const std::string& id : ray::Get(on_a)) EXPECT_EQ(id, a_.id);
  for (const std::string& id : ray::Get(on_b)) EXPECT_EQ(id, b_.id);
}

TEST_F(RemoteTasksTest, AnObjectMadeOnOneNodeIsReadOnTheOthers) {
  constexpr int64_t kBytes = 100 << 20;
  auto big = On("a_box", MakeBig)(kBytes, 7);
  auto on_b = On("b_box", CheckBig)(big, kBytes, 7);
  auto on_head = On("head_box", CheckBig)(big, kBytes, 7);
  auto on_driver = On("driver_box", CheckBig)(big, kBytes, 7);  // a worker of the driver's node
  EXPECT_EQ(ray::Get(on_b), "ok " + b_.id);
  EXPECT_EQ(ray::Get(on_head), "ok " + head_.id);
  EXPECT_EQ(ray::Get(on_driver), "ok " + ray::GetRuntimeContext().GetNodeId());
  std::vector<uint8_t> here = ray::Get(big);  // and the driver's node
  EXPECT_EQ(here, Pattern(kBytes, 7));
}

TEST_F(RemoteTasksTest, AChainHopsAcrossNodes) {
  ray::ObjectRef<int64_t> x = ray::Put<int64_t>(0);
  const std::string boxes[] = {"a_box", "b_box", "head_box"};
  for (int i = 0; i < 30; ++i) x = On(boxes[i % 3], AddOne)(x);
  EXPECT_EQ(ray::Get(x), 30);
}

TEST_F(RemoteTasksTest, NestedTasksCrossNodes) {
  std::vector<std::string> ids = ray::Get(On("a_box", NestedOn)("b_box"));
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], a_.id);
  EXPECT_EQ(ids[1], b_.id);
}

// Holds its CPU and resources until `path` exists (at most a minute).
bool HoldUntil(std::string path) {
  absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (!std::filesystem::exists(path)) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

TEST_F(RemoteTasksTest, StatusAndAvailableResourcesShowWhatRunningTasksHold) {
  EXPECT_EQ(ray::AvailableResources().at("a_box"), 2);
  auto held = On("a_box", HoldUntil)(tmp_ + "/release");
  std::string status = StatusUntil([&](const std::string& out) {
    return out.find(a_.id + " 127.0.0.1 alive node CPUs: 2 (1 in use)") != std::string::npos;
  });
  EXPECT_NE(status.find(a_.id + " 127.0.0.1 alive node CPUs: 2 (1 in use)"), std::string::npos)
      << status;
  std::map<std::string, double> available = ray::AvailableResources();
  EXPECT_EQ(available.at("a_box"), 1);
  EXPECT_EQ(ray::ClusterResources().at("a_box"), 2);
  std::ofstream(tmp_ + "/release") << "go";
  EXPECT_TRUE(ray::Get(held));
  StatusUntil([&](const std::string& out) {
    return out.find(a_.id + " 127.0.0.1 alive node CPUs: 2 (0 in use)") != std::string::npos;
  });
  EXPECT_EQ(ray::AvailableResources().at("a_box"), 2);
}

TEST_F(RemoteTasksTest, TheGraphAndTimelineShowWhereEachTaskRan) {
  ray::Get(On("a_box", WhereAmI)());
  ray::Get(On("b_box", WhereAmI)());
  ray::Timeline(tmp_ + "/timeline.json");
  std::string timeline = ReadFile(tmp_ + "/timeline.json");
  for (const StartedNode* node : {&a_, &b_}) {
    EXPECT_NE(timeline.find("\"node\":\"" + node->id + "\""), std::string::npos) << timeline;
    EXPECT_NE(timeline.find("node " + node->id.substr(0, 8) + " worker "), std::string::npos);
  }
  ray::VisualizeComputationGraph(tmp_ + "/graph.dot");
  std::string graph = ReadFile(tmp_ + "/graph.dot");
  EXPECT_NE(graph.find("on node " + a_.id.substr(0, 8)), std::string::npos) << graph;
  EXPECT_NE(graph.find("on node " + b_.id.substr(0, 8)), std::string::npos) << graph;
}

TEST_F(RemoteTasksTest, BadInputOnANodesPortsEndsThatConnectionOnly) {
  auto token = cluster::FindToken(address_);
  ASSERT_TRUE(token.ok());
  auto head = cluster::HeadClient::Connect(address_, {.token = *token});
  ASSERT_TRUE(head.ok());
  auto nodes = (*head)->Nodes();
  ASSERT_TRUE(nodes.ok());
  std::vector<std::string> ports;
  for (const cluster::NodeEntry& node : *nodes) {
    if (node.node_id != a_.id) continue;
    ports = {node.service_address, node.object_address};
  }
  ASSERT_EQ(ports.size(), 2u);
  std::string wrong = *token;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  for (const std::string& port : ports) {
    EXPECT_TRUE(ClosedAfter(port, Preamble(wrong))) << port;
    EXPECT_TRUE(ClosedAfter(port, "GET / HTTP/1.0\r\n\r\n")) << port;
    EXPECT_TRUE(ClosedAfter(port, "RAYT\xff\xff\xff\xff")) << port;
    EXPECT_TRUE(ClosedAfter(
        port, Preamble(*token) + std::string("\xff\xff\xff\x7f", 4) + std::string(64, 'Z'), "K"))
        << port;
  }
  // The node still serves: a task there, and its object copied here.
  EXPECT_EQ(ray::Get(On("a_box", WhereAmI)()), a_.id);
  EXPECT_EQ(ray::Get(On("a_box", MakeBig)(1 << 20, 3)), Pattern(1 << 20, 3));
}

TEST_F(RemoteTasksTest, ATaskAskingWhatNoNodeHasFailsClearly) {
  auto never = ray::Remote(WhereAmI).Options({.resources = {{"a_box", 3}}})();
  try {
    ray::Get(never);
    FAIL() << "no node has 3 a_box";
  } catch (const ray::RayError& e) {
    EXPECT_NE(std::string(e.what()).find("a_box: 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ray::testing
