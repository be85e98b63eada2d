// The public API (ray/api.h) end to end, in local mode.
#include "ray/api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "ray/core_worker/local_runtime.h"
#include "ray/core_worker/runtime_gate.h"

// An enum as a task value: msgpack's MSGPACK_ADD_ENUM, at global scope.
enum class Color { kRed, kBlue };
MSGPACK_ADD_ENUM(Color);

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

int add(int a, int b) { return a + b; }
double scale(double x, double factor) { return x * factor; }
std::string greet(const std::string& name) { return "hello " + name; }
int64_t sum_vector(std::vector<int64_t> v) {
  int64_t s = 0;
  for (int64_t x : v) s += x;
  return s;
}
double sum_view(ray::ArrayView<double> v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
double sum_span(std::span<const double> v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
size_t length(std::string_view s) { return s.size(); }
// The address of the first element the task sees (to prove a view does not copy).
uintptr_t first_address(ray::ArrayView<double> v) { return reinterpret_cast<uintptr_t>(v.data()); }
std::vector<double> iota(int n) {
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = i;
  return v;
}
int counter = 0;
void bump(int by) { counter += by; }
ray::Returns<int, double, std::string> return_multiple() { return {0, 0.0, "zero"}; }
std::tuple<int, std::string> return_tuple() { return {7, "seven"}; }
ray::Returns<std::vector<int>, int> split_sum(std::vector<int> v) {
  int s = 0;
  for (int x : v) s += x;
  return {v, s};
}
int throws_runtime_error(int) { throw std::runtime_error("boom"); }
int throws_int() { throw 42; }
int increment(int x) noexcept { return x + 1; }
// Gets a failed result: the TaskError propagates out of this task unchanged.
int level1(int x) { return ray::Remote(throws_runtime_error)(x).Get() + 1; }
int level2(int x) { return ray::Remote(level1)(x).Get() * 2; }
int get_by_hex(std::string hex) { return ray::ObjectRef<int>(ray::ObjectID::FromHex(hex)).Get(); }
std::map<std::string, int> word_counts(std::vector<std::string> words) {
  std::map<std::string, int> m;
  for (const auto& w : words) ++m[w];
  return m;
}

struct Point {
  double x = 0, y = 0;
  std::string label;
  RAY_SERIALIZABLE(x, y, label);
};
Point midpoint(Point a, Point b) { return {(a.x + b.x) / 2, (a.y + b.y) / 2, a.label + b.label}; }

struct Pixel {
  uint8_t r, g, b, a;
  RAY_RAW_ELEMENT();
};
int red_sum(ray::ArrayView<Pixel> pixels) {
  int s = 0;
  for (const Pixel& p : pixels) s += p.r;
  return s;
}

ray::core::LocalRuntime& Local() {
  auto* gate = static_cast<ray::core::RuntimeGate*>(ray::core::CurrentRuntime());
  return *static_cast<ray::core::LocalRuntime*>(gate->runtime());
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ray::Init({.local_mode = true}); }
  void TearDown() override { ray::Shutdown(); }
};

TEST_F(ApiTest, RemoteReturnsATypedRefAndGetWaits) {
  ray::ObjectRef<int> x = ray::Remote(add)(1, 2);
  EXPECT_EQ(x.Get(), 3);
  EXPECT_EQ(ray::Get(x), 3);
  EXPECT_EQ(ray::Get(x, absl::Seconds(1)), 3);
  EXPECT_EQ(x.Get(absl::Seconds(1)), 3);
  EXPECT_EQ(ray::Task(add).Remote(20, 22).Get(), 42);
}

TEST_F(ApiTest, ArgumentsAreValuesOrRefsMixed) {
  auto one = ray::Put(1);
  auto two = ray::Put(2);
  EXPECT_EQ(ray::Remote(add)(1, 2).Get(), 3);
  EXPECT_EQ(ray::Remote(add)(1, two).Get(), 3);
  EXPECT_EQ(ray::Remote(add)(one, two).Get(), 3);
  auto x = ray::Remote(add)(1, 2);
  EXPECT_EQ(ray::Remote(add)(x, 10).Get(), 13);  // a dependency on a task's result
}

TEST_F(ApiTest, ValuesConvertLikeACall) {
  // A value converts to the parameter type in the caller: 3 -> double, "x" -> std::string.
  EXPECT_DOUBLE_EQ(ray::Remote(scale)(3, 0.5).Get(), 1.5);
  EXPECT_EQ(ray::Remote(greet)("ray").Get(), "hello ray");
  // An ObjectRef<U> converts U to the parameter type in the task: int -> double,
  // std::vector<int64_t> stays.
  ray::ObjectRef<int> three = ray::Put(3);
  EXPECT_DOUBLE_EQ(ray::Remote(scale)(three, 2).Get(), 6.0);
  ray::ObjectRef<float> half = ray::Put(0.5f);
  EXPECT_DOUBLE_EQ(ray::Remote(scale)(4.0, half).Get(), 2.0);
  EXPECT_EQ(ray::Remote(sum_vector)(std::vector<int64_t>{1, 2, 3}).Get(), 6);
  EXPECT_EQ(ray::Remote(sum_vector)(ray::Put(std::vector<int64_t>{4, 5})).Get(), 9);
  // char -> int in the task.
  ray::ObjectRef<char> c = ray::Put('a');
  EXPECT_EQ(ray::Remote(add)(c, 1).Get(), 'a' + 1);
}

TEST_F(ApiTest, UserStructsAndContainers) {
  auto m = ray::Remote(midpoint)(Point{0, 0, "a"}, ray::Put(Point{2, 4, "b"})).Get();
  EXPECT_DOUBLE_EQ(m.x, 1);
  EXPECT_DOUBLE_EQ(m.y, 2);
  EXPECT_EQ(m.label, "ab");
  std::map<std::string, int> counts =
      ray::Remote(word_counts)(std::vector<std::string>{"a", "b", "a"}).Get();
  EXPECT_EQ(counts, (std::map<std::string, int>{{"a", 2}, {"b", 1}}));
}

template <typename T>
T Echo(T value) {
  return value;
}
template <typename T>
void ExpectRoundTrip(const T& value) {
  EXPECT_TRUE(ray::Remote(Echo<T>)(value).Get() == value) << ray::TypeName<T>();
  EXPECT_TRUE(ray::Put(value).Get() == value) << ray::TypeName<T>();
}
struct Reading {  // a msgpack map
  std::string sensor;
  double value = 0;
  MSGPACK_DEFINE_MAP(sensor, value);
  friend bool operator==(const Reading&, const Reading&) = default;
};

// The types docs/API.md lists as task arguments and results.
TEST_F(ApiTest, TheDocumentedValueTypesRoundTrip) {
  ExpectRoundTrip(int8_t{-5});
  ExpectRoundTrip(uint64_t{1} << 63);
  ExpectRoundTrip(2.5f);
  ExpectRoundTrip(true);
  ExpectRoundTrip('c');
  ExpectRoundTrip(Color::kBlue);
  ExpectRoundTrip(std::string("text"));
  ExpectRoundTrip(std::vector<double>{1.5, 2.5});
  ExpectRoundTrip(std::vector<std::byte>{std::byte{7}});
  ExpectRoundTrip(ray::ByteBuffer(std::vector<uint8_t>{1, 2, 3}));
  ExpectRoundTrip(std::vector<bool>{true, false});
  ExpectRoundTrip(std::vector<std::string>{"a", "b"});
  ExpectRoundTrip(std::vector<std::vector<int>>{{1}, {2, 3}});
  ExpectRoundTrip(std::array<int, 3>{1, 2, 3});
  ExpectRoundTrip(std::deque<int>{1, 2});
  ExpectRoundTrip(std::list<int>{3, 4});
  ExpectRoundTrip(std::set<int>{5, 6});
  ExpectRoundTrip(std::unordered_set<int>{7, 8});
  ExpectRoundTrip(std::map<std::string, int>{{"a", 1}});
  ExpectRoundTrip(std::unordered_map<int, double>{{1, 0.5}});
  ExpectRoundTrip(std::pair<int, std::string>{1, "one"});
  ExpectRoundTrip(std::tuple<int, double, std::string>{1, 2.0, "three"});
  ExpectRoundTrip(std::optional<int>(4));
  ExpectRoundTrip(std::optional<int>());
  ExpectRoundTrip(Reading{"t", 21.5});
  ExpectRoundTrip(std::map<std::string, std::vector<Reading>>{{"room", {Reading{"t", 1}}}});
  std::vector<Pixel> pixels{{1, 2, 3, 4}};
  EXPECT_EQ(ray::Remote(Echo<std::vector<Pixel>>)(pixels).Get()[0].b, 3);
}

TEST_F(ApiTest, CapturelessLambdas) {
  EXPECT_EQ(ray::Remote([](int a) { return a * 2; })(21).Get(), 42);
  EXPECT_EQ(ray::Remote(+[](int a, int b) { return a - b; })(5, 3).Get(), 2);
  EXPECT_EQ(ray::Task([](std::string s) { return s + "!"; }).Remote("hi").Get(), "hi!");
  auto f = ray::Remote([]() { return 7; });
  EXPECT_EQ(f().Get(), 7);
  EXPECT_EQ(f().Get(), 7);
}

TEST_F(ApiTest, NoexceptFunctions) { EXPECT_EQ(ray::Remote(increment)(1).Get(), 2); }

TEST_F(ApiTest, PutAndGet) {
  ray::ObjectRef<std::vector<int>> x = ray::Put(std::vector<int>{1, 2, 3});
  EXPECT_THAT(x.Get(), ElementsAre(1, 2, 3));
  EXPECT_THAT(ray::Get(x), ElementsAre(1, 2, 3));
  ray::ObjectRef<std::string> s = ray::Put("text");  // a C string is stored as std::string
  EXPECT_EQ(s.Get(), "text");
  ray::ObjectRef<std::string> sv = ray::Put(std::string_view("view"));
  EXPECT_EQ(sv.Get(), "view");
  double values[] = {1.5, 2.5};
  ray::ObjectRef<std::vector<double>> from_span = ray::Put(std::span<const double>(values));
  EXPECT_THAT(from_span.Get(), ElementsAre(1.5, 2.5));
  ray::ObjectRef<bool> b = ray::Put(true);
  EXPECT_TRUE(b.Get());
  auto p = ray::Put(Point{1, 2, "p"});
  EXPECT_EQ(p.Get().label, "p");
}

TEST_F(ApiTest, GetOfAVectorOfRefs) {
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 10; ++i) refs.push_back(ray::Put(i));
  std::vector<int> all = ray::Get(refs);
  EXPECT_THAT(all, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  EXPECT_EQ(ray::Get(refs, absl::Seconds(5)).size(), 10u);
  EXPECT_TRUE(ray::Get(std::vector<ray::ObjectRef<int>>{}).empty());
}

TEST_F(ApiTest, ZeroCopyViews) {
  auto ref = ray::Put(iota(1000));
  ray::ArrayView<double> view = ray::GetView(ref);
  ASSERT_EQ(view.size(), 1000u);
  EXPECT_EQ(view[999], 999.0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view.data()) % 64, 0u);  // the payload is aligned
  // Two views of one object see the same memory: no copy.
  EXPECT_EQ(ref.GetView().data(), view.data());
  // Get copies.
  std::vector<double> copy = ref.Get();
  EXPECT_NE(copy.data(), view.data());
  EXPECT_EQ(copy.size(), 1000u);
  // A string can be viewed too.
  EXPECT_EQ(ray::GetView(ray::Put(std::string("abc"))).str(), "abc");
}

TEST_F(ApiTest, ViewKeepsTheObjectAliveAfterTheLastRef) {
  ray::ArrayView<double> view;
  {
    auto ref = ray::Put(iota(100));
    view = ref.GetView();
  }  // the last ref is gone: the object is freed, but the view pins its memory
  EXPECT_EQ(Local().NumObjects(), 0u);
  EXPECT_EQ(view[42], 42.0);
}

TEST_F(ApiTest, ViewParametersReadTheStoredObjectWithoutACopy) {
  auto ref = ray::Put(iota(100));
  EXPECT_DOUBLE_EQ(ray::Remote(sum_view)(ref).Get(), 4950);
  EXPECT_DOUBLE_EQ(ray::Remote(sum_span)(ref).Get(), 4950);
  EXPECT_EQ(ray::Remote(first_address)(ref).Get(),
            reinterpret_cast<uintptr_t>(ref.GetView().data()));
  // A task's result as a view argument.
  EXPECT_DOUBLE_EQ(ray::Remote(sum_view)(ray::Remote(iota)(10)).Get(), 45);
  // Values for view parameters: vectors, spans, views.
  std::vector<double> v = iota(4);
  EXPECT_DOUBLE_EQ(ray::Remote(sum_view)(v).Get(), 6);
  EXPECT_DOUBLE_EQ(ray::Remote(sum_span)(std::span<const double>(v)).Get(), 6);
  EXPECT_DOUBLE_EQ(ray::Remote(sum_view)(ref.GetView()).Get(), 4950);
  // std::string_view parameters take strings, C strings and ObjectRef<std::string>.
  EXPECT_EQ(ray::Remote(length)("four").Get(), 4u);
  EXPECT_EQ(ray::Remote(length)(std::string("three")).Get(), 5u);
  EXPECT_EQ(ray::Remote(length)(ray::Put(std::string("two"))).Get(), 3u);
  // Raw structs.
  std::vector<Pixel> pixels{{1, 0, 0, 0}, {2, 0, 0, 0}};
  EXPECT_EQ(ray::Remote(red_sum)(ray::Put(pixels)).Get(), 3);
  EXPECT_EQ(ray::Remote(red_sum)(pixels).Get(), 3);
}

TEST_F(ApiTest, ReturnsGivesOneTypedRefPerValue) {
  auto [a, b, c] = ray::Remote(return_multiple)();
  static_assert(std::is_same_v<decltype(a), ray::ObjectRef<int>>);
  static_assert(std::is_same_v<decltype(b), ray::ObjectRef<double>>);
  static_assert(std::is_same_v<decltype(c), ray::ObjectRef<std::string>>);
  EXPECT_EQ(a.Get(), 0);
  EXPECT_EQ(b.Get(), 0.0);
  EXPECT_EQ(c.Get(), "zero");
  EXPECT_NE(a.ID(), b.ID());
  EXPECT_EQ(a.ID().Task(), c.ID().Task());  // the same task made them

  auto [list, total] = ray::Remote(split_sum)(std::vector<int>{1, 2, 3});
  EXPECT_THAT(list.Get(), ElementsAre(1, 2, 3));
  EXPECT_EQ(total.Get(), 6);
  // One of the results as an argument of the next task.
  EXPECT_EQ(ray::Remote(add)(total, total).Get(), 12);
  // With matching options.
  auto [x, y, z] = ray::Remote(return_multiple).Options({.num_returns = 3})();
  EXPECT_EQ(z.Get(), "zero");
}

TEST_F(ApiTest, ReturnsIsATuple) {
  ray::Returns<int, double, std::string> r = return_multiple();
  auto [i, d, s] = r;  // structured bindings on Returns itself
  EXPECT_EQ(i, 0);
  EXPECT_EQ(s, "zero");
  EXPECT_EQ(std::get<2>(r), "zero");
  ray::Returns deduced(1, 2.0);
  static_assert(std::is_same_v<decltype(deduced), ray::Returns<int, double>>);
}

TEST_F(ApiTest, PlainTupleIsOneObject) {
  ray::ObjectRef<std::tuple<int, std::string>> t = ray::Remote(return_tuple)();
  EXPECT_EQ(t.Get(), std::make_tuple(7, std::string("seven")));
}

TEST_F(ApiTest, VoidFunctions) {
  counter = 0;
  ray::ObjectRef<void> done = ray::Remote(bump)(5);
  done.Get();  // allowed; returns nothing
  ray::Get(done);
  EXPECT_EQ(counter, 5);
  std::vector<ray::ObjectRef<void>> all{ray::Remote(bump)(1), ray::Remote(bump)(1)};
  ray::Get(all);
  EXPECT_EQ(counter, 7);
}

TEST_F(ApiTest, WaitSplitsReadyAndNotReady) {
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 5; ++i) refs.push_back(ray::Remote(add)(i, i));
  auto [ready, not_ready] = ray::Wait(refs, 2, absl::Seconds(1));
  ASSERT_EQ(ready.size(), 2u);
  ASSERT_EQ(not_ready.size(), 3u);
  EXPECT_EQ(ready[0], refs[0]);
  EXPECT_EQ(ready[1], refs[1]);
  EXPECT_EQ(not_ready[2], refs[4]);
  auto all = ray::Wait(refs, refs.size(), absl::Seconds(1));
  EXPECT_EQ(all.ready.size(), 5u);
  EXPECT_TRUE(all.not_ready.empty());
  EXPECT_EQ(ray::Wait(refs).ready.size(), 1u);  // defaults: 1, no timeout
  EXPECT_THROW(ray::Wait(refs, 6), ray::RayError);
  std::vector<ray::ObjectRef<int>> twice{refs[0], refs[0]};
  EXPECT_THROW(ray::Wait(twice, 1), ray::RayError);
}

TEST_F(ApiTest, TimeoutsAreAbslOrChronoDurations) {
  using namespace std::chrono_literals;
  ray::ObjectRef<int> x = ray::Remote(add)(1, 2);
  auto v = ray::Put(std::vector<double>{1.5});
  EXPECT_EQ(x.Get(1s), 3);
  EXPECT_EQ(ray::Get(x, 250ms), 3);
  EXPECT_EQ(ray::Get(std::vector{x, x}, std::chrono::duration<double>(0.5)),
            (std::vector<int>{3, 3}));
  EXPECT_EQ(ray::GetView(v, std::chrono::minutes(1))[0], 1.5);
  EXPECT_EQ(v.GetView(absl::Seconds(1))[0], 1.5);
  EXPECT_EQ(ray::Wait(std::vector{x}, 1, 10us).ready.size(), 1u);
}

TEST(TimeoutTest, ChronoDurationsConvertExactly) {
  EXPECT_EQ(ray::Timeout().duration(), absl::InfiniteDuration());
  EXPECT_EQ(ray::Timeout(absl::Seconds(2)).duration(), absl::Seconds(2));
  EXPECT_EQ(ray::Timeout(std::chrono::milliseconds(1500)).duration(), absl::Milliseconds(1500));
  EXPECT_EQ(ray::Timeout(std::chrono::microseconds(3)).duration(), absl::Microseconds(3));
  EXPECT_EQ(ray::Timeout(std::chrono::nanoseconds(7)).duration(), absl::Nanoseconds(7));
  EXPECT_EQ(ray::Timeout(std::chrono::hours(2)).duration(), absl::Hours(2));
  EXPECT_EQ(ray::Timeout(std::chrono::duration<double>(0.25)).duration(), absl::Milliseconds(250));
  EXPECT_EQ(ray::Timeout(std::chrono::duration<int, std::ratio<1, 3>>(3)).duration(),
            absl::Seconds(1));
  EXPECT_EQ(ray::Timeout(std::chrono::seconds(-1)).duration(), absl::Seconds(-1));
  // "Forever" and what lies past absl::Duration's range are infinite.
  EXPECT_EQ(ray::Timeout(std::chrono::milliseconds::max()).duration(), absl::InfiniteDuration());
  EXPECT_EQ(ray::Timeout(std::chrono::duration<uint64_t>(uint64_t{1} << 63)).duration(),
            absl::InfiniteDuration());
  EXPECT_EQ(ray::Timeout(std::chrono::duration<int64_t, std::ratio<1000000>>(int64_t{1} << 62))
                .duration(),
            absl::InfiniteDuration());
  EXPECT_EQ(ray::Timeout(std::chrono::duration<double>(1e300)).duration(),
            absl::InfiniteDuration());
}

TEST_F(ApiTest, OptionsAreCheckedAndReachTheTask) {
  EXPECT_EQ(ray::Remote(add).Options({.num_cpus = 2, .max_retries = 0})(1, 2).Get(), 3);
  auto f = ray::Remote(add);
  f.SetOptions({.num_cpus = 0.5});
  EXPECT_EQ(f.options().num_cpus, 0.5);
  EXPECT_EQ(f(2, 2).Get(), 4);
  try {
    ray::Remote(add).Options({.num_returns = 2})(1, 2);
    FAIL() << "no error";
  } catch (const ray::RayError& e) {
    EXPECT_THAT(e.what(), HasSubstr("num_returns = 2"));
    EXPECT_THAT(e.what(), HasSubstr("add"));
  }
  EXPECT_THROW(ray::Remote(return_multiple).Options({.num_returns = 1})(), ray::RayError);
  EXPECT_THROW(ray::Remote(add).Options({.num_cpus = -1})(1, 2), ray::RayError);
  EXPECT_EQ(ray::Remote(add).Options({.max_retries = -1})(1, 2).Get(), 3);  // retry forever
}

// The limits of ray/core_worker/limits.h, the same as the Python package's
// (tests/python/test_api.py).
TEST_F(ApiTest, OptionsOutOfTheirLimitsAreRefusedAtSubmit) {
  const auto message = [](auto submit) {
    try {
      submit();
    } catch (const ray::RayError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(message([] { ray::Remote(add).Options({.max_retries = -5})(1, 2); }),
              HasSubstr("options.max_retries = -5: it must be >= 0, or -1 to retry without limit"));
  EXPECT_THAT(message([] { ray::Remote(add).Options({.num_cpus = 1e9})(1, 2); }),
              HasSubstr("options.num_cpus = 1e+09: a task asks for 0 to 65536 CPUs (one that asks "
                        "for more than the node has runs when all of them are free)"));
  EXPECT_THAT(message([] { ray::Remote(add).Options({.num_cpus = std::nan("")})(1, 2); }),
              HasSubstr("options.num_cpus = nan"));
}

TEST_F(ApiTest, ObjectRefIdentityHashAndPrinting) {
  auto a = ray::Put(1);
  auto b = a;
  auto c = ray::Put(1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a.ID(), b.ID());
  EXPECT_EQ(a.Hex(), a.ID().Hex());
  EXPECT_EQ(a.Hex().size(), 2 * ray::ObjectID::kSize);
  std::ostringstream os;
  os << a;
  EXPECT_EQ(os.str(), "ObjectRef(" + a.Hex() + ")");
  std::unordered_set<ray::ObjectRef<int>> std_set{a, b, c};
  EXPECT_EQ(std_set.size(), 2u);
  absl::flat_hash_set<ray::ObjectRef<int>> absl_set{a, b, c};
  EXPECT_EQ(absl_set.size(), 2u);
  ray::ObjectRef<int> nil;
  EXPECT_TRUE(nil.IsNil());
  EXPECT_THROW(nil.Get(), ray::RayError);
}

TEST_F(ApiTest, ReferenceCountingFreesObjects) {
  const size_t before = Local().NumObjects();
  {
    auto a = ray::Put(std::vector<int>{1, 2, 3});
    EXPECT_EQ(Local().RefCount(a.ID()), 1);
    {
      auto b = a;  // copy: +1
      EXPECT_EQ(Local().RefCount(a.ID()), 2);
      auto c = std::move(b);  // move: no change
      EXPECT_EQ(Local().RefCount(a.ID()), 2);
      EXPECT_TRUE(b.IsNil());  // NOLINT: moved from
      ray::ObjectRef<std::vector<int>> d;
      d = c;  // copy assignment
      EXPECT_EQ(Local().RefCount(a.ID()), 3);
      d = ray::ObjectRef<std::vector<int>>();  // drops d's reference
      EXPECT_EQ(Local().RefCount(a.ID()), 2);
    }
    EXPECT_EQ(Local().RefCount(a.ID()), 1);
    a = a;  // self-assignment keeps it
    EXPECT_EQ(Local().RefCount(a.ID()), 1);
    EXPECT_EQ(Local().NumObjects(), before + 1);
  }
  EXPECT_EQ(Local().NumObjects(), before);
  // Task results and the objects made inside tasks are freed too.
  {
    auto r = ray::Remote(add)(ray::Put(1), 2);
    EXPECT_EQ(r.Get(), 3);
  }
  EXPECT_EQ(Local().NumObjects(), before);
}

TEST_F(ApiTest, ExceptionsBecomeTaskErrors) {
  auto r = ray::Remote(throws_runtime_error)(1);
  try {
    r.Get();
    FAIL() << "no error";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.message(), "boom");
    EXPECT_EQ(e.exception_type(), "std::runtime_error");
    EXPECT_THAT(e.function_name(), HasSubstr("throws_runtime_error"));
    EXPECT_EQ(e.task_id(), r.ID().Task().Hex());
    EXPECT_EQ(e.pid(), getpid());
    EXPECT_THAT(e.what(), HasSubstr("boom"));
    EXPECT_THAT(e.what(), HasSubstr("throws_runtime_error"));
    EXPECT_THAT(e.what(), HasSubstr("std::runtime_error"));
  }
  // Also a RayError, and through Get of a vector.
  EXPECT_THROW(r.Get(), ray::RayError);
  std::vector<ray::ObjectRef<int>> refs{ray::Put(1), r};
  EXPECT_THROW(ray::Get(refs), ray::TaskError);
  // Not a std::exception.
  try {
    ray::Remote(throws_int)().Get();
    FAIL() << "no error";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.exception_type(), "int");
  }
}

TEST_F(ApiTest, ErrorsFlowThroughDependencies) {
  counter = 0;
  auto failed = ray::Remote(throws_runtime_error)(1);
  auto downstream = ray::Remote(add)(failed, 1);
  auto further = ray::Remote(bump)(ray::Remote(add)(downstream, 1));
  try {
    further.Get();
    FAIL() << "no error";
  } catch (const ray::TaskError& e) {
    // The error names the function that failed first.
    EXPECT_EQ(e.message(), "boom");
    EXPECT_THAT(e.function_name(), HasSubstr("throws_runtime_error"));
    EXPECT_EQ(e.task_id(), failed.ID().Task().Hex());
  }
  EXPECT_EQ(counter, 0);  // the tasks downstream of the failure did not run
}

TEST_F(ApiTest, WorkerCrashedErrorObjects) {
  // The multi-process runtime stores this for a task whose worker died; Get throws
  // WorkerCrashedError, through dependencies too.
  ray::TaskErrorInfo info;
  info.function_name = "crashy(int)";
  info.exception_type = std::string(ray::kWorkerCrashedErrorType);
  info.message = "the worker died (signal 9)";
  std::string error = ray::SerializeError(info);
  ray::ObjectRef<int> crashed(
      ray::core::CurrentRuntime()
          ->Put(error.size(),
                [&](std::span<uint8_t> out) { memcpy(out.data(), error.data(), error.size()); }, {})
          .value());
  try {
    crashed.Get();
    FAIL() << "no error";
  } catch (const ray::WorkerCrashedError& e) {
    EXPECT_EQ(e.function_name(), "crashy(int)");
    EXPECT_THAT(e.what(), HasSubstr("signal 9"));
  }
  EXPECT_THROW(ray::Remote(add)(crashed, 1).Get(), ray::WorkerCrashedError);
  // A task that Gets it fails with the same error.
  auto via_task = ray::Remote(get_by_hex)(crashed.Hex());
  try {
    via_task.Get();
    FAIL() << "no error";
  } catch (const ray::WorkerCrashedError& e) {
    EXPECT_EQ(e.function_name(), "crashy(int)");
  }
}

TEST_F(ApiTest, WrongTypeOnGetIsARayError) {
  ray::ObjectRef<std::string> wrong(ray::Put(42).ID());  // lies about the type
  try {
    wrong.Get();
    FAIL() << "no error";
  } catch (const ray::TaskError&) {
    FAIL() << "not a task error";
  } catch (const ray::RayError& e) {
    EXPECT_THAT(e.what(), HasSubstr("std::string"));
    EXPECT_THAT(e.what(), HasSubstr(wrong.Hex()));
  }
  ray::ObjectRef<std::vector<double>> not_raw(ray::Put(std::vector<std::string>{"a"}).ID());
  EXPECT_THROW(not_raw.GetView(), ray::RayError);
}

TEST_F(ApiTest, WrongTypeOfArgumentFailsTheTask) {
  // A ref that lies about its type: the task cannot read its argument and fails with a clear
  // error naming the function and the argument.
  ray::ObjectRef<int> lie(ray::Put(std::string("not a number")).ID());
  try {
    ray::Remote(add)(1, lie).Get();
    FAIL() << "no error";
  } catch (const ray::TaskError& e) {
    EXPECT_THAT(e.message(), HasSubstr("argument 1"));
    EXPECT_THAT(e.message(), HasSubstr("add"));
    EXPECT_THAT(e.function_name(), HasSubstr("add"));
  }
}

TEST_F(ApiTest, NestedTasks) {
  auto outer = ray::Remote([](int n) {
    std::vector<ray::ObjectRef<int>> refs;
    for (int i = 0; i < n; ++i) refs.push_back(ray::Remote(add)(i, 1));
    auto inner_put = ray::Put(100);
    int s = ray::Remote(add)(inner_put, 0).Get();
    for (int v : ray::Get(refs)) s += v;
    return s;
  });
  EXPECT_EQ(outer(4).Get(), 100 + 1 + 2 + 3 + 4);
}

TEST_F(ApiTest, ExceptionsCrossTwoLevelsOfTasks) {
  try {
    ray::Remote(level2)(3).Get();
    FAIL() << "no error";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.message(), "boom");
    EXPECT_EQ(e.exception_type(), "std::runtime_error");
    EXPECT_THAT(e.function_name(), HasSubstr("throws_runtime_error"));
  }
}

ray::Returns<int, double, std::string> three() { return {0, 0.0, "zero"}; }

// The example at the top of docs/API.md.
TEST_F(ApiTest, DocExample) {
  ray::ObjectRef<int> x = ray::Remote(add)(1, 2);
  auto y = ray::Remote(add)(x, ray::Put(10));
  int thirteen = y.Get();
  EXPECT_EQ(thirteen, 13);
  auto [a, b, c] = ray::Remote(three)();
  EXPECT_EQ(c.Get(), "zero");
  auto v = ray::Put(std::vector<double>(1 << 20, 1.0));
  ray::ArrayView<double> view = ray::GetView(v);
  EXPECT_EQ(view.size(), 1u << 20);
  double sum = ray::Remote(sum_view)(v).Get();
  EXPECT_EQ(sum, 1 << 20);
  auto f = ray::Remote([](int n) { return n * 2; }).Options({.num_cpus = 2, .max_retries = 0});
  std::vector<ray::ObjectRef<int>> refs{f(1), f(2)};
  std::vector<int> both = ray::Get(refs);
  EXPECT_THAT(both, ElementsAre(2, 4));
  auto [ready, not_ready] = ray::Wait(refs, 1, absl::Seconds(1));
  EXPECT_EQ(ready.size(), 1u);
  EXPECT_EQ(not_ready.size(), 1u);
}

TEST(ApiLifecycleTest, ApiBeforeInitThrows) {
  ASSERT_FALSE(ray::IsInitialized());
  try {
    ray::Put(1);
    FAIL() << "no error";
  } catch (const ray::RayError& e) {
    EXPECT_THAT(e.what(), HasSubstr("ray::Init"));
    EXPECT_THAT(e.what(), HasSubstr("ray::Put"));
  }
  EXPECT_THROW(ray::Remote(add)(1, 2), ray::RayError);
  EXPECT_THROW(ray::Get(std::vector<ray::ObjectRef<int>>{}), ray::RayError);
  EXPECT_THROW(ray::Wait(std::vector<ray::ObjectRef<int>>{}, 0), ray::RayError);
  ray::ObjectRef<int> nil;
  EXPECT_THROW(nil.Get(), ray::RayError);
  ray::Shutdown();  // a no-op
}

TEST(ApiLifecycleTest, InitTwiceThrows) {
  ray::Init({.local_mode = true});
  EXPECT_TRUE(ray::IsInitialized());
  try {
    ray::Init({.local_mode = true});
    FAIL() << "no error";
  } catch (const ray::RayError& e) {
    EXPECT_THAT(e.what(), HasSubstr("already initialized"));
  }
  ray::Shutdown();
  EXPECT_FALSE(ray::IsInitialized());
  ray::Shutdown();  // twice is fine
}

TEST(ApiLifecycleTest, InvalidOptions) {
  EXPECT_THROW(ray::Init({.num_workers = -1, .local_mode = true}), ray::RayError);
  EXPECT_THROW(ray::Init({.num_cpus = -2, .local_mode = true}), ray::RayError);
  EXPECT_FALSE(ray::IsInitialized());
  // The limits of ray/core_worker/limits.h, the same as ray.init's
  // (tests/python/test_init_args.py). Without local mode, a billion workers would be a billion
  // forks.
  try {
    ray::Init({.num_workers = 1'000'000'000, .local_mode = true});
    FAIL() << "no error";
  } catch (const ray::RayError& e) {
    EXPECT_STREQ(e.what(),
                 "ray::Init: num_workers = 1000000000: a node starts 0 to 1024 workers (0: one "
                 "per core)");
  }
  try {
    ray::Init({.num_cpus = 1e9, .local_mode = true});
    FAIL() << "no error";
  } catch (const ray::RayError& e) {
    EXPECT_STREQ(e.what(),
                 "ray::Init: num_cpus = 1e+09: a node has 0 to 65536 CPUs (0: num_workers)");
  }
  EXPECT_FALSE(ray::IsInitialized());
}

TEST(ApiLifecycleTest, RefsOutlivingShutdownAreInert) {
  ray::Init({.local_mode = true});
  auto ref = ray::Put(1);
  auto copy_before = ref;
  ray::Shutdown();
  // Copies, destruction: no calls into the dead runtime (ASan / valgrind would see them).
  auto copy_after = ref;
  EXPECT_EQ(copy_after, ref);
  EXPECT_THROW(ref.Get(), ray::RayError);
  ray::Init({.local_mode = true});
  // A ref from the earlier session is not mistaken for one of this session.
  try {
    ref.Get();
    FAIL() << "no error";
  } catch (const ray::RayError& e) {
    EXPECT_THAT(e.what(), HasSubstr("session that has ended"));
  }
  EXPECT_THROW(ray::Remote(add)(ref, 1), ray::RayError);
  auto fresh = ray::Put(2);
  ref = fresh;  // now counted in this session
  EXPECT_EQ(ref.Get(), 2);
  ray::Shutdown();
}

}  // namespace
