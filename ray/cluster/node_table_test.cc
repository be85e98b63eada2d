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

}  // namespace
}  // namespace ray::cluster
