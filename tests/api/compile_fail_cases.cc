// Wrong uses of the API that must not compile, each with a readable static_assert. Compiled by
// compile_fail_test.sh once per case with -DCASE=<n>; CASE=0 is correct code (the control).
// Each case's expected message is on its `// expect:` line.
#include <map>
#include <string>
#include <vector>

#include "ray/api.h"

int add(int a, int b) { return a + b; }
void out_param(int& x) { x = 1; }
int pointer_param(const int* p) { return *p; }
double sum_view(ray::ArrayView<double> v) { return v.empty() ? 0 : v[0]; }
ray::ObjectRef<int> returns_ref() { return {}; }

void Cases() {
#if CASE == 0
  // Correct uses (the control): the file compiles.
  ray::ObjectRef<int> x = ray::Remote(add)(1, 2);
  ray::Remote(add)(x, ray::Put(3));
  ray::Remote(sum_view)(ray::Put(std::vector<double>{1.0}));
  ray::Remote([](int a) { return a; })(1);
  auto [a, b] = ray::Remote(+[]() { return ray::Returns<int, double>{1, 2.0}; })();
  (void)a;
  (void)b;
#elif CASE == 1
  // expect: wrong number of arguments
  ray::Remote(add)(1);
#elif CASE == 2
  // expect: does not convert to f's parameter type
  ray::Remote(add)(1, std::string("two"));
#elif CASE == 3
  // expect: whose U does not convert to f's parameter type
  ray::Remote(add)(1, ray::ObjectRef<std::string>());
#elif CASE == 4
  // expect: captureless, non-generic lambda
  int k = 1;
  ray::Remote([k](int a) { return a + k; });
#elif CASE == 5
  // expect: non-const lvalue reference
  ray::Remote(out_param);
#elif CASE == 6
  // expect: f takes a pointer
  ray::Remote(pointer_param);
#elif CASE == 7
  // expect: must be stored raw with elements E
  ray::Remote(sum_view)(ray::ObjectRef<std::vector<int> >());
#elif CASE == 8
  // expect: f returns an ObjectRef
  ray::Remote(returns_ref);
#elif CASE == 9
  // expect: ray::Put of an ObjectRef
  ray::Put(ray::ObjectRef<int>());
#elif CASE == 10
  // expect: holds an owned value type
  ray::ObjectRef<ray::ArrayView<double> > view_ref;
#elif CASE == 11
  // expect: GetView needs an object stored raw
  ray::GetView(ray::ObjectRef<std::map<int, int> >());
#elif CASE == 12
  // expect: ObjectRef<void>, which holds no value
  ray::Remote(add)(1, ray::ObjectRef<void>());
#endif
}
