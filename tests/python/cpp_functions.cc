// C++ functions that test_cross_language.py calls with ray.cpp_function: a shared library
// (libcpp_functions.so) that ray.init(code_search_path=[...]) loads.
#include <unistd.h>

#include <cmath>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ray/api.h"

namespace {

struct Point {
  double x = 0, y = 0;
  RAY_SERIALIZABLE(x, y);
};

}  // namespace

int add(int a, int b) { return a + b; }
double scale(double x, double factor) { return x * factor; }
std::string greet(const std::string& name) { return "hello " + name; }
std::vector<double> doubled(std::vector<double> values) {
  for (double& v : values) v *= 2;
  return values;
}
std::map<std::string, int> word_lengths(const std::vector<std::string>& words) {
  std::map<std::string, int> lengths;
  for (const std::string& w : words) lengths[w] = static_cast<int>(w.size());
  return lengths;
}
bool negate(bool flag) { return !flag; }
int64_t sum(const std::vector<int64_t>& values) {
  int64_t total = 0;
  for (int64_t v : values) total += v;
  return total;
}
uint64_t max_u64() { return ~uint64_t{0}; }
std::vector<uint8_t> reversed_bytes(std::vector<uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.rbegin(), bytes.rend());
}
ray::Returns<int, std::string> divide(int a, int b) { return {a / b, std::to_string(a % b)}; }
void nothing() {}
int fail(std::string message) { throw std::invalid_argument(message); }
Point midpoint(Point a, Point b) { return {(a.x + b.x) / 2, (a.y + b.y) / 2}; }
std::optional<int> positive(int x) { return x > 0 ? std::optional<int>(x) : std::nullopt; }
int pid() { return getpid(); }
// The ray API inside a function called from Python: the library's copy of libray uses the
// Python worker's runtime (UseRuntimeOf in ray/core_worker/core_runtime.h).
int uses_ray(int x) { return ray::Put(x).Get(); }
// The node this runs on, as the library's copy of libray sees it.
std::string where() { return ray::GetRuntimeContext().GetNodeId(); }
// Text that is not UTF-8 ("café" in Latin-1), as C++ may hold it.
int fail_latin1() { throw std::runtime_error("caf\xe9 \xff"); }
std::string latin1() { return "caf\xe9"; }
int plus_one(int x) { return x + 1; }
// Submits tasks of its own (C++, from this library) and waits for them.
int sum_of_tasks(int n) {
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < n; ++i) refs.push_back(ray::Remote(plus_one)(i));
  int total = 0;
  for (int v : ray::Get(refs)) total += v;
  return total;
}

namespace geometry {
double norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}
}  // namespace geometry

RAY_REMOTE(add, scale, greet, doubled, word_lengths, negate, sum, max_u64, reversed_bytes, divide,
           nothing, fail, midpoint, positive, pid, uses_ray, sum_of_tasks, where, fail_latin1,
           latin1);
RAY_REMOTE(geometry::norm);
