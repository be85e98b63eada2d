// For tests on the CPython C API: python_test_main.cc starts an interpreter before the tests
// run (and holds the GIL for them).
#pragma once

#include <string>

namespace ray::python {

// "TypeError: message" of the pending Python exception, which it clears; "no error" if none.
std::string TakePythonError();

}  // namespace ray::python
