// The Ray tutorial (2016), section by section, in C++ with libray. Each section prints what
// the tutorial's Python prints.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "ray/api.h"

namespace {

template <typename T>
std::string List(const std::vector<T>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(values[i]);
  }
  return out + "]";
}

// "Remote functions": any plain function is a remote function; nothing to register.
int add(int a, int b) { return a + b; }

ray::Returns<int, double, std::string> return_multiple() { return {0, 0.0, "zero"}; }

int sleep_task(int seconds) {
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  return 0;
}

std::vector<double> zeros(std::vector<int> shape) {
  return std::vector<double>(static_cast<size_t>(shape[0]) * shape[1], 0.0);
}

// a and b are n x n matrices, row-major.
std::vector<double> dot(std::vector<double> a, std::vector<double> b) {
  size_t n = 1;
  while (n * n < a.size()) ++n;
  std::vector<double> c(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < n; ++k) {
      for (size_t j = 0; j < n; ++j) c[i * n + j] += a[i * n + k] * b[k * n + j];
    }
  }
  return c;
}

int sub_experiment(int i, int j) { return i + j; }  // run the jth sub-experiment of the ith

int run_experiment(int i) {
  std::vector<ray::ObjectRef<int>> sub_results;
  for (int j = 0; j < 10; ++j) sub_results.push_back(ray::Remote(sub_experiment)(i, j));
  int sum = 0;
  for (int r : ray::Get(sub_results)) sum += r;
  return sum;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  // Where the pictures go: the first argument, else the current directory.
  std::string out_dir = argc > 1 ? argv[1] : ".";
  std::printf("== Starting Ray\n");
  ray::Init({.num_workers = 10});
  std::printf("ray::Init({.num_workers = 10}): a scheduler, one object store and ten workers\n");

  std::printf("\n== Immutable remote objects: Put and Get\n");
  auto x_id = ray::Put(std::vector<int>{1, 2, 3});
  std::printf("ray::Put({1, 2, 3}) -> %s\n", x_id.Hex().c_str());
  std::printf("ray::Get(x_id) -> %s\n", List(ray::Get(x_id)).c_str());
  std::vector<ray::ObjectRef<int>> result_ids;
  for (int i = 0; i < 10; ++i) result_ids.push_back(ray::Put(i));
  std::printf("ray::Get(result_ids) -> %s\n", List(ray::Get(result_ids)).c_str());

  std::printf("\n== Remote functions\n");
  auto three = ray::Remote(add)(1, 2);
  std::printf("ray::Get(ray::Remote(add)(1, 2)) -> %d\n", ray::Get(three));
  std::printf("add(1, 2), add(1, put(2)), add(put(1), put(2)) -> %d %d %d\n",
              ray::Remote(add)(1, 2).Get(), ray::Remote(add)(1, ray::Put(2)).Get(),
              ray::Remote(add)(ray::Put(1), ray::Put(2)).Get());
  auto [a_id, b_id, c_id] = ray::Remote(return_multiple)();
  std::printf("return_multiple() -> %d, %.1f, \"%s\"\n", a_id.Get(), b_id.Get(),
              c_id.Get().c_str());

  std::printf("\n== Blocking computation\n");
  // A fresh session, so that the computation graph below holds just this section, as the
  // tutorial's picture does.
  ray::Shutdown();
  ray::Init({.num_workers = 10});
  auto start = std::chrono::steady_clock::now();
  std::vector<ray::ObjectRef<int>> sleeps;
  for (int i = 0; i < 10; ++i) sleeps.push_back(ray::Remote(sleep_task)(2));
  std::printf("submitted ten 2-second tasks in %.3f s\n", Seconds(start));
  std::string values = List(ray::Get(sleeps));
  std::printf("ray::Get(result_ids) -> %s after %.1f s\n", values.c_str(), Seconds(start));

  std::printf("\n== Visualizing the computation graph\n");
  ray::VisualizeComputationGraph(out_dir + "/compgraph1.svg");
  ray::VisualizeComputationGraph(out_dir + "/compgraph1.dot");
  std::printf("the ten sleep tasks: %s/compgraph1.svg (and .dot)\n", out_dir.c_str());
  ray::Shutdown();
  ray::Init({.num_workers = 10});
  auto za = ray::Remote(zeros)(std::vector<int>{10, 10});
  auto zb = ray::Remote(zeros)(std::vector<int>{10, 10});
  auto zc = ray::Remote(dot)(za, zb);
  std::printf("dot(zeros([10, 10]), zeros([10, 10])) has %zu entries\n", zc.Get().size());
  ray::VisualizeComputationGraph(out_dir + "/compgraph2.svg");
  ray::VisualizeComputationGraph(out_dir + "/compgraph2.dot");
  std::printf("the zeros/dot graph: %s/compgraph2.svg (and .dot)\n", out_dir.c_str());

  std::printf("\n== Remote functions within remote functions\n");
  std::vector<ray::ObjectRef<int>> results;
  for (int i = 0; i < 5; ++i) results.push_back(ray::Remote(run_experiment)(i));
  std::printf("ray::Get(results) -> %s\n", List(ray::Get(results)).c_str());
  ray::VisualizeComputationGraph(out_dir + "/compgraph3.svg");
  ray::Timeline(out_dir + "/timeline.json");
  std::printf("with the nested experiments: %s/compgraph3.svg; timeline: %s/timeline.json\n",
              out_dir.c_str(), out_dir.c_str());

  ray::Shutdown();
  return 0;
}
