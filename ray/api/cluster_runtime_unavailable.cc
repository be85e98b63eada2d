// StartClusterRuntime for binaries without the multi-process runtime: local mode only.
#include "ray/api/cluster_runtime.h"
#include "ray/core/errors.h"

namespace ray::internal {

std::unique_ptr<core::CoreRuntime> StartClusterRuntime(const InitOptions&) {
  throw RayError(
      "ray::Init: the multi-process runtime is not linked in (this binary links "
      "//ray/api:cluster_runtime_unavailable); use ray::Init({.local_mode = true})");
}

}  // namespace ray::internal
