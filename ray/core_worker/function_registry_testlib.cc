// Modules that function_registry_test loads with dlopen (BUILD builds this file three times).
// With RAY_TESTLIB_OURS: a module of this libray, one function registered. Else a module of
// another libray, whose table has another layout and whose accessor aborts if it is called (the
// loader must not read it), with the stamp RAY_TESTLIB_LAYOUT or, without it, none at all.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#ifdef RAY_TESTLIB_OURS

#include "ray/core_worker/function_registry.h"

namespace {

int Twice(int x) { return 2 * x; }

[[maybe_unused]] const bool registered = [] {
  ray::core::RegisterFunction({.name = "twice",
                               .invoker = nullptr,
                               .function = reinterpret_cast<const void*>(&Twice),
                               .num_args = 1,
                               .num_returns = 1});
  return true;
}();

}  // namespace

#else

extern "C" __attribute__((visibility("default"))) const void* ray_registered_functions(
    size_t* count) {
  std::abort();
}

#ifdef RAY_TESTLIB_LAYOUT
extern "C" __attribute__((visibility("default"))) uint32_t ray_registered_functions_layout(
    const char** libray_version) {
  *libray_version = "9.8.7";
  return RAY_TESTLIB_LAYOUT;
}
#endif

#endif
