// A driver joins a cluster (ray::Init with an address): its node registers with a real head
// started by `ray start --head`, ray::Nodes() and ray::ClusterResources() show the cluster, and
// tasks still run on the driver's node. Wrong tokens and unreachable heads fail at Init.
#include <gtest/gtest.h>

#include "ray/api.h"
#include "tests/cluster/ray_cli.h"

namespace ray::testing {
namespace {

int Square(int x) { return x * x; }
std::string NodeIdInTask() { return ray::GetRuntimeContext().GetNodeId(); }

class DriverJoinTest : public RayCliTest {
 protected:
  void SetUp() override {
    RayCliTest::SetUp();
    head_ = Start({"--head", "--port=0", "--num-cpus=2", R"(--resources={"gpu_box": 1})"});
  }
  void TearDown() override {
    ray::Shutdown();
    RayCliTest::TearDown();
  }
  StartedNode head_;
};

TEST_F(DriverJoinTest, TheDriversNodeJoinsAndLeaves) {
  ray::Init(
      {.num_workers = 1, .num_cpus = 3, .object_store_memory = 32 << 20, .address = address_});
  std::string id = ray::GetRuntimeContext().GetNodeId();
  EXPECT_EQ(id.size(), 56u);
  std::vector<ray::NodeInfo> nodes = ray::Nodes();
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].node_id, head_.id);
  EXPECT_TRUE(nodes[0].is_head);
  EXPECT_EQ(nodes[1].node_id, id);
  EXPECT_TRUE(nodes[1].alive);
  EXPECT_EQ(nodes[1].address, "127.0.0.1");
  EXPECT_EQ(nodes[1].resources.at("CPU"), 3);
  auto total = ray::ClusterResources();
  EXPECT_EQ(total.at("CPU"), 5);
  EXPECT_EQ(total.at("gpu_box"), 1);
  EXPECT_EQ(total.at("object_store_memory"), 64 << 20);
  EXPECT_EQ(total.at("node:127.0.0.1"), 2);
  EXPECT_EQ(ray::Get(ray::Remote(Square)(7)), 49);  // tasks run on this node, as before
  EXPECT_EQ(ray::Get(ray::Remote(NodeIdInTask)()), id);

  RunResult status = RunRay({"status"});
  EXPECT_NE(status.output.find("2 alive, 0 dead"), std::string::npos) << status.output;
  ray::Shutdown();
  std::string after = StatusUntil(
      [](const std::string& out) { return out.find("1 alive, 1 dead") != std::string::npos; });
  EXPECT_NE(after.find(id + " 127.0.0.1 dead"), std::string::npos) << after;
}

TEST_F(DriverJoinTest, AutoAndRayAddressFindTheLatestCluster) {
  ray::Init({.num_workers = 1, .object_store_memory = 32 << 20, .address = "auto"});
  EXPECT_EQ(ray::Nodes().size(), 2u);
  ray::Shutdown();
  setenv("RAY_ADDRESS", address_.c_str(), 1);
  ray::Init({.num_workers = 1, .object_store_memory = 32 << 20});
  unsetenv("RAY_ADDRESS");
  EXPECT_EQ(ray::Nodes().size(), 3u);  // the first driver's node, now dead, stays listed
}

TEST_F(DriverJoinTest, WrongTokenOrUnreachableHeadFailsAtInit) {
  setenv("RAY_AUTH_TOKEN", "not-the-token", 1);
  try {
    ray::Init({.num_workers = 1, .object_store_memory = 32 << 20, .address = address_});
    FAIL() << "joined with a wrong token";
  } catch (const ray::RayError& e) {
    EXPECT_NE(std::string(e.what()).find("refused the cluster token"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(ray::IsInitialized());
  try {
    ray::Init({.num_workers = 1, .object_store_memory = 32 << 20, .address = "127.0.0.1:1"});
    FAIL() << "joined a head that does not exist";
  } catch (const ray::RayError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot reach the cluster head at 127.0.0.1:1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(ray::Init({.address = "no-port"}), ray::RayError);
  EXPECT_THROW(ray::Init({.local_mode = true, .address = address_}), ray::RayError);
}

TEST_F(DriverJoinTest, WithoutAnAddressTheNodeIsAlone) {
  ray::Init({.num_workers = 1, .num_cpus = 2, .object_store_memory = 32 << 20});
  std::vector<ray::NodeInfo> nodes = ray::Nodes();
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes[0].node_id, ray::GetRuntimeContext().GetNodeId());
  EXPECT_EQ(ray::ClusterResources().at("CPU"), 2);
  RunResult status = RunRay({"status"});
  EXPECT_NE(status.output.find("1 alive, 0 dead"), std::string::npos) << status.output;
}

}  // namespace
}  // namespace ray::testing
