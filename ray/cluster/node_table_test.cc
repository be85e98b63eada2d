#include "ray/cluster/node_table.h"

#include <gtest/gtest.h>

namespace ray::cluster {
namespace {

NodeEntry Node(const std::string& id) {
  NodeEntry node;
  node.node_id = id;
  node.num_cpus = 2;
  return node;
}

TEST(NodeTableTest, RefusesAnIdTwiceAliveOrDead) {
  NodeTable table;
  absl::Time now = absl::Now();
  ASSERT_TRUE(table.Register(Node("aa"), now).ok());
  absl::Status again = table.Register(Node("aa"), now);
  EXPECT_TRUE(absl::IsAlreadyExists(again));
  EXPECT_NE(again.message().find("already registered"), std::string::npos);
  ASSERT_TRUE(table.MarkDead("aa", "test"));
  EXPECT_TRUE(absl::IsAlreadyExists(table.Register(Node("aa"), now)));
  EXPECT_FALSE(table.Heartbeat("aa", 0, now));  // dead is final
}

TEST(NodeTableTest, ExpiresSilentNodesButNotTheHead) {
  NodeTable table;
  absl::Time start = absl::UnixEpoch();
  NodeEntry head = Node("head");
  head.is_head = true;
  ASSERT_TRUE(table.Register(head, start).ok());
  ASSERT_TRUE(table.Register(Node("quiet"), start).ok());
  ASSERT_TRUE(table.Register(Node("beating"), start).ok());
  ASSERT_TRUE(table.Heartbeat("beating", 7, start + absl::Seconds(4)));
  EXPECT_TRUE(table.ExpireSilent(start + absl::Seconds(3), absl::Seconds(3)).empty());
  auto expired = table.ExpireSilent(start + absl::Seconds(5), absl::Seconds(3));
  ASSERT_EQ(expired, std::vector<std::string>{"quiet"});
  auto nodes = table.Nodes();
  ASSERT_EQ(nodes.size(), 3u);
  EXPECT_TRUE(nodes[0].alive);
  EXPECT_FALSE(nodes[1].alive);
  EXPECT_NE(nodes[1].death_reason.find("no heartbeat"), std::string::npos);
  EXPECT_TRUE(nodes[2].alive);
  EXPECT_EQ(nodes[2].store_used_bytes, 7u);
}

TEST(NodeTableTest, UsageIsWhatTheLiveDriversReportSummed) {
  NodeTable table;
  absl::Time now = absl::Now();
  NodeEntry worker = Node("worker");
  worker.num_cpus = 4;
  worker.resources = {{"gpu_box", 2}};
  ASSERT_TRUE(table.Register(worker, now).ok());
  ASSERT_TRUE(table.Register(Node("driver1"), now).ok());
  ASSERT_TRUE(table.Register(Node("driver2"), now).ok());
  ASSERT_TRUE(table.Heartbeat("driver1", 0, now, {{"worker", 1.5, {{"gpu_box", 1}}}}));
  ASSERT_TRUE(table.Heartbeat("driver2", 0, now, {{"worker", 1, {}}}));
  NodeEntry seen = table.Nodes()[0];
  EXPECT_EQ(seen.cpus_in_use, 2.5);
  EXPECT_EQ(seen.resources_in_use.at("gpu_box"), 1);
  auto available = RayResources(seen, /*available=*/true);
  EXPECT_EQ(available.at("CPU"), 1.5);
  EXPECT_EQ(available.at("gpu_box"), 1);
  EXPECT_EQ(ClusterRayResources(table.Nodes(), /*available=*/false).at("gpu_box"), 2);
  ASSERT_TRUE(table.MarkDead("driver1", "gone"));  // what its tasks held is free again
  EXPECT_EQ(table.Nodes()[0].cpus_in_use, 1);
  ASSERT_TRUE(table.Heartbeat("driver2", 0, now, {}));  // it holds nothing now
  EXPECT_EQ(table.Nodes()[0].cpus_in_use, 0);
}

}  // namespace
}  // namespace ray::cluster
