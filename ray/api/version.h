// The library's version. Part of the public API (ray/api.h).
#pragma once

namespace ray {

// The version of the libray this program runs with, "MAJOR.MINOR.PATCH" (e.g. "0.1.0"): the
// same as `ray --version` and Python's ray.__version__. Nodes of a cluster must share it.
const char* Version();

}  // namespace ray
