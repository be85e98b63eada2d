// ray::Shutdown runs at exit when the program does not call it, before ObjectRefs in statics
// are destroyed; those must then not call into the dead runtime. Passes if it exits with 0
// (ASan or valgrind would report a call into freed memory).
#include <cstdio>

#include "ray/api.h"

namespace {
int add(int a, int b) { return a + b; }
}  // namespace

ray::ObjectRef<int> global_ref;  // constructed before Init, destroyed after the atexit hook

int main() {
  ray::Init({.local_mode = true});
  global_ref = ray::Remote(add)(1, 2);
  static ray::ObjectRef<int> static_ref = ray::Put(5);  // constructed after Init
  if (global_ref.Get() != 3 || static_ref.Get() != 5) return 1;
  std::printf("leaving main with ray initialized\n");
  return 0;
}
