// Resources a node has and a task holds while it runs: CPUs apart, and named custom ones (Ray's
// `resources={...}`).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace ray {

// A task's custom resources, as (name, amount) pairs in the order given.
using ResourceAmounts = std::vector<std::pair<std::string, double>>;
// A node's custom resources by name.
using ResourceMap = absl::flat_hash_map<std::string, double>;

}  // namespace ray
