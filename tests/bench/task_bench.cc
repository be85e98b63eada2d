// Task throughput and latency, modelled on `ray microbenchmark`, each figure beside baselines
// measured in the same run: a plain function call and std::async on threads.
//   bazel run -c opt //tests/bench:task_bench [-- --workers=2 --trials=3]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "ray/api.h"

namespace {

// Not inlined, so that the plain-call baseline calls a function as a task does.
[[gnu::noinline]] int small_value(int x) { return x + 1; }
[[gnu::noinline]] int64_t one_mib(std::vector<uint8_t> bytes) {
  return static_cast<int64_t>(bytes.size());
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs `body(n)` and returns operations per second.
double Rate(int n, const std::function<void(int)>& body) {
  auto start = std::chrono::steady_clock::now();
  body(n);
  return n / Seconds(start);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Row {
  const char* name;
  std::vector<double> ray, plain, threads;
  double target;  // ops/s, 0: none
};

void Print(const Row& row) {
  double r = Median(row.ray);
  double p = Median(row.plain);
  double t = Median(row.threads);
  std::printf("%-34s %12.0f /s  plain call %12.0f /s (x%.4f)  std::async %10.0f /s (x%.2f)",
              row.name, r, p, r / p, t, r / t);
  if (row.target > 0)
    std::printf("  target >= %.0f: %s", row.target, r >= row.target ? "PASS" : "MISS");
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 2;
  int trials = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--workers=", 10) == 0) workers = std::atoi(argv[i] + 10);
    if (std::strncmp(argv[i], "--trials=", 9) == 0) trials = std::atoi(argv[i] + 9);
  }
  std::vector<double> init_ms;
  for (int t = 0; t < trials; ++t) {  // Init of 10 workers, until they all answered a task
    auto start = std::chrono::steady_clock::now();
    ray::Init({.num_workers = 10});
    double ready = Seconds(start) * 1000;
    init_ms.push_back(ready);
    ray::Shutdown();
  }
  // The cost of recording the computation graph: sync and async with it on and off, in
  // alternating sessions so that drift in the machine's speed hits both alike.
  auto sync_rate = [] {
    return Rate(5000, [](int n) {
      for (int i = 0; i < n; ++i) ray::Remote(small_value)(i).Get();
    });
  };
  auto async_rate = [] {
    return Rate(10000, [](int n) {
      std::vector<ray::ObjectRef<int>> refs;
      refs.reserve(n);
      for (int i = 0; i < n; ++i) refs.push_back(ray::Remote(small_value)(i));
      ray::Get(refs);
    });
  };
  std::vector<double> sync_on, async_on, sync_off, async_off;
  for (int t = 0; t < 2 * trials; ++t) {
    bool record = t % 2 == 0;
    ray::Init({.num_workers = workers, .record_task_graph = record});
    (record ? sync_on : sync_off).push_back(sync_rate());
    (record ? async_on : async_off).push_back(async_rate());
    ray::Shutdown();
  }

  ray::Init({.num_workers = workers});
  std::vector<uint8_t> mib(1 << 20, 1);
  Row sync{"tasks sync (submit, Get, repeat)", {}, {}, {}, 20000};
  Row async{"tasks async (10,000 then Get all)", {}, {}, {}, 100000};
  Row arg{"tasks with a 1 MiB argument", {}, {}, {}, 0};
  volatile int sink = 0;
  for (int t = 0; t < trials; ++t) {
    sync.ray.push_back(sync_rate());
    async.ray.push_back(async_rate());
    arg.ray.push_back(Rate(500, [&](int n) {
      std::vector<ray::ObjectRef<int64_t>> refs;
      for (int i = 0; i < n; ++i) refs.push_back(ray::Remote(one_mib)(mib));
      ray::Get(refs);
    }));
    for (Row* row : {&sync, &async}) {
      row->plain.push_back(Rate(1000000, [&](int n) {
        for (int i = 0; i < n; ++i) sink = sink + small_value(i);
      }));
    }
    arg.plain.push_back(Rate(500, [&](int n) {
      for (int i = 0; i < n; ++i) sink = sink + one_mib(mib);  // copies the vector, as a task does
    }));
    sync.threads.push_back(Rate(5000, [&](int n) {
      for (int i = 0; i < n; ++i)
        sink = sink + std::async(std::launch::async, small_value, i).get();
    }));
    async.threads.push_back(Rate(10000, [&](int n) {
      std::vector<std::future<int>> futures;
      futures.reserve(n);
      for (int i = 0; i < n; ++i) futures.push_back(std::async(std::launch::async, small_value, i));
      for (auto& f : futures) sink = sink + f.get();
    }));
    arg.threads.push_back(Rate(500, [&](int n) {
      std::vector<std::future<int64_t>> futures;
      for (int i = 0; i < n; ++i) futures.push_back(std::async(std::launch::async, one_mib, mib));
      for (auto& f : futures) sink = sink + f.get();
    }));
  }
  ray::Shutdown();
  std::printf("libray task benchmark: %d workers, %d trials, medians\n", workers, trials);
  Print(sync);
  Print(async);
  Print(arg);
  std::printf(
      "%-34s sync %.0f /s vs %.0f /s without (%+.1f%%), async %.0f /s vs %.0f /s (%+.1f%%)\n",
      "graph recording on vs off", Median(sync_on), Median(sync_off),
      100 * (Median(sync_on) / Median(sync_off) - 1), Median(async_on), Median(async_off),
      100 * (Median(async_on) / Median(async_off) - 1));
  double init = Median(init_ms);
  std::printf("%-34s %12.1f ms  target < 200 ms: %s\n", "Init with 10 workers", init,
              init < 200 ? "PASS" : "MISS");
  return 0;
}
