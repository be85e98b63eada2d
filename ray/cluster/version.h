// The versions a node and the head must share to join: the cluster protocol's and the
// library build's (from the repository's VERSION file). A mismatch is refused naming both.
#pragma once

#include <cstdint>

#include "ray/common/library_version.h"

namespace ray::cluster {

inline constexpr uint32_t kProtocolVersion = 2;  // bump on any change to rpc/cluster.capnp
inline constexpr char kLibraryVersion[] = "libray " RAY_LIBRARY_VERSION;

}  // namespace ray::cluster
