#include "ray/node/placement_policy.h"

#include <gtest/gtest.h>

namespace ray::core {
namespace {

using Kind = Placement::Kind;

NodeView Node(double total, double free, const ResourceMap* custom_total = nullptr,
              const ResourceMap* custom_free = nullptr, uint64_t bytes = 0) {
  return {.usable = true,
          .cpus_total = total,
          .cpus_free = free,
          .custom_total = custom_total,
          .custom_free = custom_free,
          .argument_bytes = bytes};
}

TEST(PlacementPolicyTest, OwnNodeFirstThenMostFreeCpus) {
  PlacementPolicy policy;
  std::vector<NodeView> nodes = {Node(2, 1), Node(4, 2), Node(4, 3)};
  EXPECT_EQ(policy.Place({.cpus = 1}, nodes).node, 0);
  nodes[0].cpus_free = 0;
  EXPECT_EQ(policy.Place({.cpus = 1}, nodes).node, 2);
  nodes[2].cpus_free = 0;
  EXPECT_EQ(policy.Place({.cpus = 1}, nodes).node, 1);
  nodes[1].cpus_free = 0.5;
  EXPECT_EQ(policy.Place({.cpus = 1}, nodes).kind, Kind::kWait);
  EXPECT_EQ(policy.Place({.cpus = 0.5}, nodes).node, 1);
}

TEST(PlacementPolicyTest, CustomResourcesPinTheNodeOrFailClearly) {
  PlacementPolicy policy;
  ResourceMap gpu = {{"gpu_box", 1}};
  ResourceMap none;
  std::vector<NodeView> nodes = {Node(2, 2), Node(2, 2, &gpu, &gpu), Node(2, 2)};
  std::vector<std::pair<std::string, double>> one_gpu = {{"gpu_box", 1}};
  EXPECT_EQ(policy.Place({.cpus = 1, .custom = one_gpu}, nodes).node, 1);
  nodes[1].custom_free = &none;  // held by another task: wait, do not go elsewhere
  EXPECT_EQ(policy.Place({.cpus = 1, .custom = one_gpu}, nodes).kind, Kind::kWait);
  std::vector<std::pair<std::string, double>> two_gpus = {{"gpu_box", 2}};
  Placement infeasible = policy.Place({.cpus = 1, .custom = two_gpus}, nodes);
  EXPECT_EQ(infeasible.kind, Kind::kInfeasible);
  EXPECT_NE(infeasible.missing.find("gpu_box: 2"), std::string::npos) << infeasible.missing;
  nodes[1].usable = false;  // a dead node's resources count for nothing
  std::string why = "node 7 died";
  nodes[1].lost_why = &why;
  Placement lost = policy.Place({.cpus = 1, .custom = one_gpu}, nodes);
  EXPECT_EQ(lost.kind, Kind::kInfeasible);
  EXPECT_NE(lost.missing.find("(one that had them is lost: node 7 died)"), std::string::npos)
      << lost.missing;
}

TEST(PlacementPolicyTest, ArgumentBytesWinWhileTheNodeHasRoom) {
  PlacementPolicy policy;
  std::vector<NodeView> nodes = {Node(2, 2), Node(2, 1, nullptr, nullptr, 100 << 20),
                                 Node(2, 2, nullptr, nullptr, 1 << 20)};
  EXPECT_EQ(policy.Place({.cpus = 1}, nodes).node, 1);
  nodes[1].cpus_free = 0;
  EXPECT_EQ(policy.Place({.cpus = 1}, nodes).node, 2);
}

TEST(PlacementPolicyTest, MoreCpusThanANodeHasRunAloneThere) {
  PlacementPolicy policy;
  std::vector<NodeView> nodes = {Node(2, 1), Node(4, 4)};
  EXPECT_EQ(policy.Place({.cpus = 8}, nodes).node, 1);
  nodes[1].cpus_free = 3;
  EXPECT_EQ(policy.Place({.cpus = 8}, nodes).kind, Kind::kWait);
}

TEST(PlacementPolicyTest, ANodeOfNoCpusRunsOnlyTasksThatAskNone) {
  PlacementPolicy policy;  // the scheduler's own node is an actor host's: no CPUs
  std::vector<NodeView> nodes = {Node(0, 0), Node(2, 2)};
  EXPECT_EQ(policy.Place({.cpus = 1}, nodes).node, 1);
  EXPECT_EQ(policy.Place({.cpus = 0.5}, nodes).node, 1);
  EXPECT_EQ(policy.Place({.cpus = 0}, nodes).node, 0);
  nodes[1].cpus_free = 0;
  EXPECT_EQ(policy.Place({.cpus = 1}, nodes).kind, Kind::kWait);
  nodes[1].usable = false;
  Placement alone = policy.Place({.cpus = 1}, nodes);
  EXPECT_EQ(alone.kind, Kind::kInfeasible);
  EXPECT_NE(alone.missing.find("CPU: 1"), std::string::npos) << alone.missing;
}

}  // namespace
}  // namespace ray::core
