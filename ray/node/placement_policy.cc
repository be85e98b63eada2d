#include "ray/node/placement_policy.h"

#include "absl/strings/str_cat.h"

namespace ray::core {
namespace {

constexpr double kSlack = 1e-9;  // resources are fractions: sums drift

}  // namespace

bool PlacementPolicy::Covers(const ResourceMap* have,
                             std::span<const std::pair<std::string, double>> custom) {
  for (const auto& [name, amount] : custom) {
    if (have == nullptr) return false;
    auto it = have->find(name);
    if (it == have->end() || it->second + kSlack < amount) return false;
  }
  return true;
}

Placement PlacementPolicy::Place(const ResourceDemand& demand,
                                 std::span<const NodeView> nodes) const {
  int best = -1;
  bool any_feasible = false;
  const std::string* lost_why = nullptr;  // of a node that had what it asks, and is lost
  bool no_cpus = false;                   // a node had its custom resources but no CPUs
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    const NodeView& node = nodes[i];
    if (!Covers(node.custom_total, demand.custom)) continue;
    if (demand.cpus > 0 && node.cpus_total <= 0) {  // an actor host's node
      no_cpus = true;
      continue;
    }
    if (!node.usable) {
      if (lost_why == nullptr) lost_why = node.lost_why;
      continue;
    }
    any_feasible = true;
    if (CpusOn(demand.cpus, node.cpus_total) > node.cpus_free + kSlack ||
        !Covers(node.custom_free, demand.custom)) {
      continue;
    }
    if (best < 0) {
      best = i;
      continue;
    }
    const NodeView& chosen = nodes[best];
    if (node.argument_bytes != chosen.argument_bytes) {
      if (node.argument_bytes > chosen.argument_bytes) best = i;
    } else if (chosen.argument_bytes == 0 && best != 0 && node.cpus_free > chosen.cpus_free) {
      best = i;
    }
  }
  if (best >= 0) return {.kind = Placement::Kind::kNode, .node = best};
  if (any_feasible) return {.kind = Placement::Kind::kWait};
  std::string missing = no_cpus ? absl::StrCat("CPU: ", demand.cpus) : "";
  for (const auto& [name, amount] : demand.custom) {
    absl::StrAppend(&missing, missing.empty() ? "" : ", ", name, ": ", amount);
  }
  std::string why =
      absl::StrCat("no node of the cluster has the resources it asks for {", missing, "}");
  if (lost_why != nullptr && !lost_why->empty()) {
    absl::StrAppend(&why, " (one that had them is lost: ", *lost_why, ")");
  }
  return {.kind = Placement::Kind::kInfeasible, .missing = std::move(why)};
}

}  // namespace ray::core
