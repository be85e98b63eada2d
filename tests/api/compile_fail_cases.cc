// Wrong uses of the API that must not compile, each with one short, readable static_assert.
// Compiled by compile_fail_test.sh once per case with -DCASE=<n>; CASE=0 is correct code (the
// control). Each case's `// expect:` text must be in the first error line, and its `// context:`
// text (optional) anywhere in the output: where the compiler names the function, the argument's
// position and the types.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "ray/api.h"

int add(int a, int b) { return a + b; }
void out_param(int& x) { x = 1; }
int pointer_param(const int* p) { return *p; }
double sum_view(ray::ArrayView<double> v) { return v.empty() ? 0 : v[0]; }
ray::ObjectRef<int> returns_ref() { return {}; }

// Serializable: RAY_SERIALIZABLE, RAY_RAW_ELEMENT (in vectors), own msgpack adaptors.
struct Point {
  double x = 0, y = 0;
  RAY_SERIALIZABLE(x, y);
};
struct Pixel {
  uint8_t r, g, b, a;
  RAY_RAW_ELEMENT();
};
struct Celsius {  // msgpack adaptors of its own, below
  double degrees = 0;
};
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {
  template <>
  struct pack<Celsius> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const Celsius& v) const {
      return o.pack(v.degrees);
    }
  };
  template <>
  struct convert<Celsius> {
    const msgpack::object& operator()(const msgpack::object& o, Celsius& v) const {
      v.degrees = o.as<double>();
      return o;
    }
  };
  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
template <>
struct ray::MsgpackAdaptorOptIn<Celsius> : std::true_type {};

Point move_point(Point p, std::map<std::string, std::vector<Point>> more) { return p; }
int count_pixels(std::vector<Pixel> pixels) { return static_cast<int>(pixels.size()); }
Celsius warmer(Celsius c) { return {c.degrees + 1}; }
std::tuple<int, std::optional<std::string>> pair_up(int a) { return {a, std::nullopt}; }

// Not serializable: no RAY_SERIALIZABLE.
struct Plain {
  int a = 0;
};
int take_plain(int a, Plain p) { return a + p.a; }
Plain make_plain() { return {}; }
ray::Returns<int, Plain> make_two() { return {1, Plain{}}; }
int take_nested(std::map<int, std::vector<Plain>> m) { return static_cast<int>(m.size()); }
int view_of_plain(ray::ArrayView<Plain> v) { return static_cast<int>(v.size()); }

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
  std::map<std::string, std::vector<Point>> points{{"a", {Point{}}}};
  ray::ObjectRef<Point> p = ray::Remote(move_point)(Point{1, 2}, points);
  p.Get();
  ray::Remote(count_pixels)(std::vector<Pixel>(3));
  ray::Remote(warmer)(Celsius{20}).Get();
  ray::Put(std::vector<Pixel>(2));
  ray::Remote(pair_up)(1).Get();
  // Timeouts: absl::Duration or std::chrono.
  x.Get(absl::Seconds(1));
  x.Get(std::chrono::milliseconds(100));
  ray::Get(x, std::chrono::duration<double>(0.5));
  ray::Get(std::vector{x}, std::chrono::seconds(1));
  ray::GetView(ray::Put(std::vector<double>{1.0}), std::chrono::minutes(1));
  ray::Wait(std::vector{x}, 1, std::chrono::microseconds(10));
#elif CASE == 1
  // expect: wrong number of arguments
  ray::Remote(add)(1);
#elif CASE == 2
  // expect: the Argument at ArgumentIndex does not convert to f's Parameter type
  // context: Function = int (*)(int, int); long unsigned int ArgumentIndex = 1; Parameter = int;
  // Argument = std::__cxx11::basic_string<char>
  ray::Remote(add)(1, std::string("two"));
#elif CASE == 3
  // expect: is an ObjectRef whose value type does not convert to f's Parameter type
  // context: ArgumentIndex = 1; Parameter = int; Argument =
  // ray::ObjectRef<std::__cxx11::basic_string<char> >
  ray::Remote(add)(1, ray::ObjectRef<std::string>());
#elif CASE == 4
  // expect: captureless, non-generic lambda
  int k = 1;
  ray::Remote([k](int a) { return a + k; });
#elif CASE == 5
  // expect: non-const lvalue reference
  // context: Function = void (*)(int&); long unsigned int ParameterIndex = 0; Parameter = int&
  ray::Remote(out_param);
#elif CASE == 6
  // expect: f's Parameter at ParameterIndex is a pointer
  // context: ParameterIndex = 0; Parameter = const int*
  ray::Remote(pointer_param);
#elif CASE == 7
  // expect: so it must hold a std::vector<E>
  // context: ArgumentIndex = 0; Parameter = ray::ArrayView<double>; Argument =
  // ray::ObjectRef<std::vector<int> >
  ray::Remote(sum_view)(ray::ObjectRef<std::vector<int>>());
#elif CASE == 8
  // expect: f's Result at ResultIndex is an ObjectRef
  // context: Function = ray::ObjectRef<int> (*)(); long unsigned int ResultIndex = 0
  ray::Remote(returns_ref);
#elif CASE == 9
  // expect: ray::Put of an ObjectRef
  ray::Put(ray::ObjectRef<int>());
#elif CASE == 10
  // expect: holds an owned value type
  ray::ObjectRef<ray::ArrayView<double>> view_ref;
#elif CASE == 11
  // expect: GetView needs an object stored raw
  ray::GetView(ray::ObjectRef<std::map<int, int>>());
#elif CASE == 12
  // expect: ObjectRef<void>, which holds no value
  // context: ArgumentIndex = 1; Parameter = int; Argument = ray::ObjectRef<void>
  ray::Remote(add)(1, ray::ObjectRef<void>());
#elif CASE == 13
  // expect: RAY_SERIALIZABLE(field1, field2, ...)
  // context: Function = int (*)(int, Plain); long unsigned int ParameterIndex = 1; Parameter =
  // Plain
  ray::Remote(take_plain)(1, Plain{});
#elif CASE == 14
  // expect: RAY_SERIALIZABLE(field1, field2, ...)
  // context: Function = Plain (*)(); long unsigned int ResultIndex = 0; Result = Plain
  ray::Remote(make_plain)().Get();
#elif CASE == 15
  // expect: RAY_SERIALIZABLE(field1, field2, ...)
  // context: ResultIndex = 1; Result = Plain
  auto [one, plain] = ray::Remote(make_two)();
#elif CASE == 16
  // expect: RAY_SERIALIZABLE(field1, field2, ...)
  // context: Value = Plain; Unserializable = Plain
  ray::Put(Plain{});
#elif CASE == 17
  // expect: RAY_SERIALIZABLE(field1, field2, ...)
  // context: Value = Plain; Unserializable = Plain
  ray::Get(ray::ObjectRef<Plain>(), std::chrono::seconds(1));
#elif CASE == 18
  // expect: RAY_SERIALIZABLE(field1, field2, ...)
  // context: Unserializable = Plain
  ray::Remote(take_nested)(std::map<int, std::vector<Plain>>());
#elif CASE == 19
  // expect: RAY_SERIALIZABLE(field1, field2, ...)
  // context: Value = std::vector<Plain>; Unserializable = Plain
  ray::Put(std::vector<Plain>(1));
#elif CASE == 20
  // expect: elements that are not stored raw
  // context: ParameterIndex = 0; Parameter = ray::ArrayView<Plain>
  ray::Remote(view_of_plain)(std::vector<Plain>());
#endif
}
