// Actor calls, modelled on `ray microbenchmark`'s actor rows, each beside baselines measured in
// the same run: a task of the same shape (the target: actor calls at least as fast) and a plain
// call on a mutex-guarded object in this process. The last row calls a threaded actor
// (max_concurrency 2: its calls run on two threads of its process).
//   bazel run -c opt //tests/bench:actor_bench [-- --workers=2 --trials=5 --quick --only=ROW]
// --only runs one row (sync, async, 1n, nn, mib, threads, idle), for profiling.
// Ray's published figures (64 cores, Python): 1:1 sync about 2,000/s, 1:1 async about 8,600/s,
// n:n async about 27,000/s.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "ray/api.h"

namespace {

class Counter {
 public:
  [[gnu::noinline]] int Add(int x) { return value_ += x; }
  [[gnu::noinline]] int64_t Take(std::vector<uint8_t> bytes) {
    return value_ += static_cast<int>(bytes.size() > 0);
  }

 private:
  int value_ = 0;
};
Counter* MakeCounter() { return new Counter; }

// For a threaded actor (max_concurrency > 1): its calls run on several threads.
class LockedCounter {
 public:
  [[gnu::noinline]] int Add(int x) {
    std::lock_guard<std::mutex> lock(mu_);
    return value_ += x;
  }

 private:
  std::mutex mu_;
  int value_ = 0;
};
LockedCounter* MakeLockedCounter() { return new LockedCounter; }

[[gnu::noinline]] int AddTask(int x) { return x + 1; }
[[gnu::noinline]] int64_t TakeTask(std::vector<uint8_t> bytes) {
  return static_cast<int64_t>(bytes.size());
}

// n:n: each caller (a task) makes `calls` calls of its own actor, or `calls` tasks, async.
int CallerOfActor(ray::ActorHandle<Counter> counter, int calls) {
  std::vector<ray::ObjectRef<int>> refs;
  refs.reserve(calls);
  for (int i = 0; i < calls; ++i) refs.push_back(counter.Task(&Counter::Add).Remote(1));
  return ray::Get(refs).back();
}
int CallerOfTasks(int calls) {
  std::vector<ray::ObjectRef<int>> refs;
  refs.reserve(calls);
  for (int i = 0; i < calls; ++i) refs.push_back(ray::Remote(AddTask)(i));
  return ray::Get(refs).back();
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs `body()` (which makes `n` calls) and returns calls per second.
double Rate(int n, const std::function<void()>& body) {
  auto start = std::chrono::steady_clock::now();
  body();
  return n / Seconds(start);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Row {
  std::string name;
  std::vector<double> actor, task, plain;
};

// The rates are medians; the ratio is the median of each trial's actor/task ratio (the two are
// measured one after the other, so the VM's drift over a run cancels out of each ratio).
void Print(const Row& row) {
  const double a = Median(row.actor), t = Median(row.task), p = Median(row.plain);
  std::vector<double> ratios;
  for (size_t i = 0; i < row.actor.size() && i < row.task.size(); ++i) {
    ratios.push_back(row.actor[i] / row.task[i]);
  }
  const double ratio = Median(ratios);
  std::printf(
      "%-44s %10.0f /s  task of the same shape %10.0f /s (x%.2f)  mutex-guarded call "
      "%12.0f /s  target >= x1.00: %s\n",
      row.name.c_str(), a, t, ratio, p, ratio >= 1.0 ? "PASS" : "MISS");
}

}  // namespace

int main(int argc, char** argv) {
  ray::RunAsWorkerIfStarted();
  int workers = 2;
  int trials = 5;
  bool quick = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--only=", 7) == 0) only = argv[i] + 7;
    if (std::strncmp(argv[i], "--workers=", 10) == 0) workers = std::atoi(argv[i] + 10);
    if (std::strncmp(argv[i], "--trials=", 9) == 0) trials = std::atoi(argv[i] + 9);
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
  }
  const int sync_n = quick ? 200 : 5000;
  const int async_n = quick ? 500 : 10000;
  const int mib_n = quick ? 20 : 500;
  const int callers = 2;
  const int per_caller = quick ? 200 : 5000;

  auto want = [&](const char* row) { return only.empty() || only == row; };

  ray::Init({.num_workers = workers});
  ray::ActorHandle<Counter> counter = ray::Actor(MakeCounter).Remote();
  std::vector<ray::ActorHandle<Counter>> many;
  for (int i = 0; i < callers; ++i) many.push_back(ray::Actor(MakeCounter).Remote());
  for (auto& c : many) c.Task(&Counter::Add).Remote(0).Get();  // all started
  counter.Task(&Counter::Add).Remote(0).Get();
  auto threaded = ray::Actor(MakeLockedCounter).Options({.max_concurrency = 2}).Remote();
  threaded.Task(&LockedCounter::Add).Remote(0).Get();
  std::vector<uint8_t> mib(1 << 20, 1);

  Counter local;
  std::mutex mu;
  volatile int64_t sink = 0;
  auto plain = [&](int n) {
    return Rate(n, [&] {
      for (int i = 0; i < n; ++i) {
        std::lock_guard<std::mutex> lock(mu);
        sink = sink + local.Add(1);
      }
    });
  };

  // Each body makes n calls (or tasks) and returns them per second.
  auto sync_actor = [&] {
    return Rate(sync_n, [&] {
      for (int i = 0; i < sync_n; ++i) counter.Task(&Counter::Add).Remote(1).Get();
    });
  };
  auto sync_task = [&] {
    return Rate(sync_n, [&] {
      for (int i = 0; i < sync_n; ++i) ray::Remote(AddTask)(i).Get();
    });
  };
  auto async_calls = [&](auto call) {
    return Rate(async_n, [&] {
      std::vector<decltype(call(0))> refs;
      refs.reserve(async_n);
      for (int i = 0; i < async_n; ++i) refs.push_back(call(i));
      ray::Get(refs);
    });
  };
  auto one_to_one = [&] {
    return async_calls([&](int) { return counter.Task(&Counter::Add).Remote(1); });
  };
  auto async_task = [&] { return async_calls([](int i) { return ray::Remote(AddTask)(i); }); };
  auto one_to_n = [&] {
    return async_calls([&](int i) { return many[i % many.size()].Task(&Counter::Add).Remote(1); });
  };
  auto threaded_calls = [&] {
    return async_calls([&](int) { return threaded.Task(&LockedCounter::Add).Remote(1); });
  };
  auto n_to_n = [&](auto caller) {
    return Rate(callers * per_caller, [&] {
      std::vector<ray::ObjectRef<int>> done;
      for (int c = 0; c < callers; ++c) done.push_back(caller(c));
      ray::Get(done);
    });
  };
  auto with_mib = [&](auto call) {
    return Rate(mib_n, [&] {
      std::vector<ray::ObjectRef<int64_t>> refs;
      for (int i = 0; i < mib_n; ++i) refs.push_back(call());
      ray::Get(refs);
    });
  };

  Row sync{"actor calls 1:1 sync (call, Get, repeat)", {}, {}, {}};
  Row async{"actor calls 1:1 async (10,000, Get all)", {}, {}, {}};
  Row one_n{"actor calls 1:n async (2 actors)", {}, {}, {}};
  Row n_n{"actor calls n:n async (2 callers, 2 actors)", {}, {}, {}};
  Row arg{"actor calls with a 1 MiB argument", {}, {}, {}};
  Row threads{"actor calls 1:1 async, max_concurrency 2", {}, {}, {}};
  std::vector<Row*> measured;
  for (Row* row : {&sync, &async, &one_n, &n_n, &arg, &threads}) {
    const char* key = row == &sync    ? "sync"
                      : row == &async ? "async"
                      : row == &one_n ? "1n"
                      : row == &n_n   ? "nn"
                      : row == &arg   ? "mib"
                                      : "threads";
    if (want(key)) measured.push_back(row);
  }
  auto measures = [&](const Row& row) {
    return std::find(measured.begin(), measured.end(), &row) != measured.end();
  };
  for (int t = 0; t < trials; ++t) {
    // Actor calls and tasks one after the other; which goes first alternates, so that neither
    // gains from the order.
    auto both = [&](Row& row, auto actor_calls, auto tasks) {
      if (t % 2 == 0) row.actor.push_back(actor_calls());
      row.task.push_back(tasks());
      if (t % 2 == 1) row.actor.push_back(actor_calls());
    };
    if (measures(sync)) both(sync, sync_actor, sync_task);
    // 1:1 async, 1:n and the threaded actor share one task row, before or after them.
    const bool async_rows = measures(async) || measures(one_n) || measures(threads);
    double tasks = async_rows && t % 2 == 0 ? async_task() : 0;
    if (measures(async)) async.actor.push_back(one_to_one());
    if (measures(one_n)) one_n.actor.push_back(one_to_n());
    if (measures(threads)) threads.actor.push_back(threaded_calls());
    if (async_rows && t % 2 == 1) tasks = async_task();
    for (Row* row : {&async, &one_n, &threads}) {
      if (measures(*row)) row->task.push_back(tasks);
    }
    if (measures(n_n)) {
      both(
          n_n,
          [&] {
            return n_to_n([&](int c) { return ray::Remote(CallerOfActor)(many[c], per_caller); });
          },
          [&] { return n_to_n([&](int) { return ray::Remote(CallerOfTasks)(per_caller); }); });
    }
    if (measures(arg)) {
      both(
          arg, [&] { return with_mib([&] { return counter.Task(&Counter::Take).Remote(mib); }); },
          [&] { return with_mib([&] { return ray::Remote(TakeTask)(mib); }); });
      arg.plain.push_back(Rate(mib_n, [&] {
        for (int i = 0; i < mib_n; ++i) {
          std::lock_guard<std::mutex> lock(mu);
          sink = sink + local.Take(mib);  // copies the vector, as a call does
        }
      }));
    }
    for (Row* row : measured) {
      if (row != &arg) row->plain.push_back(plain(1000000));
    }
  }
  // The same 1:1 async calls beside many idle actors, against those calls just before the idle
  // actors start (adjacent in time: this VM's rates drift by more than a third over a run).
  const int idle_n = quick ? 20 : 200;
  std::vector<double> before_idle, beside_idle;
  if (want("idle")) {
    for (int t = 0; t < trials; ++t) before_idle.push_back(one_to_one());
    std::vector<ray::ActorHandle<Counter>> idle;
    for (int i = 0; i < idle_n; ++i) idle.push_back(ray::Actor(MakeCounter).Remote());
    for (auto& c : idle) c.Task(&Counter::Add).Remote(0).Get();  // all started
    for (int t = 0; t < trials; ++t) beside_idle.push_back(one_to_one());
  }
  ray::Shutdown();
  std::printf("libray actor benchmark: %d workers, %d trials%s, medians\n", workers, trials,
              quick ? ", quick" : "");
  for (const Row* row : measured) Print(*row);
  if (want("idle")) {
    const double alone = Median(before_idle), crowded = Median(beside_idle);
    std::printf("%-44s %10.0f /s  without them %10.0f /s (x%.2f)  target >= x0.90: %s\n",
                ("actor calls 1:1 async beside " + std::to_string(idle_n) + " idle actors").c_str(),
                crowded, alone, crowded / alone, crowded >= 0.9 * alone ? "PASS" : "MISS");
  }
  return 0;
}
