// The versions a node and the head must share to join: the cluster protocol's and the
// library build's. One constant each for now; a mismatch is refused naming both.
#pragma once

#include <cstdint>

namespace ray::cluster {

inline constexpr uint32_t kProtocolVersion = 1;  // bump on any change to rpc/cluster.capnp
inline constexpr char kLibraryVersion[] = "libray 0.1.0";

}  // namespace ray::cluster
