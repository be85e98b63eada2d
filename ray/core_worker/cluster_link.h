// A driver's node in a cluster: registered with the head at Init, heartbeating while the
// session lasts, unregistered (held dead by the head) when it ends.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ray/cluster/head_client.h"

namespace ray::core {

// Joins the cluster at `address` (HOST:PORT or "auto") as `node`, whose address is set to this
// machine's as the head sees it. The token is RAY_AUTH_TOKEN, else the head's file on this
// machine. Errors name the address: an unreachable head, a refused token or node.
absl::StatusOr<std::unique_ptr<cluster::HeadClient>> JoinCluster(
    const std::string& address, cluster::NodeEntry node, std::function<uint64_t()> store_used);

}  // namespace ray::core
