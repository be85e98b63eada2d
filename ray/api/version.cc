#include "ray/api/version.h"

#include "ray/common/library_version.h"

namespace ray {

const char* Version() { return RAY_LIBRARY_VERSION; }

}  // namespace ray
