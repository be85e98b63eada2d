// Where a program's actor host serves (ClusterHead.actorHost in cluster.capnp; the host:
// ray/core_worker/actor_host.h).
#pragma once

#include <cstdint>
#include <string>

namespace ray::cluster {

// Its scheduler's HOST:PORT (where its workers connect, and other drivers, with the cluster's
// credentials) and its session's job (ray/common/id.h).
struct ActorHostAddress {
  std::string address;
  uint32_t job = 0;
};

}  // namespace ray::cluster
