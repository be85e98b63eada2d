// How fast a backlog drains, by its length: the usual "map over a big list" while every worker
// is busy. Two workers are held by two tasks that block on a pipe; N no-op tasks are submitted
// behind them; then the pipe releases the blockers and the clock runs until Get of all N
// returns. A scheduler whose queue operations are O(1) or O(log n) drains 1,000,000 at about
// the rate of 10,000 (the baseline, measured in the same run): the ratio is printed. Also
// printed: the driver's memory per queued task (its resident set before and after submitting;
// each measurement runs in a new process, so that memory freed by an earlier one does not hide
// the growth), and the rate of the same tasks submitted with the workers free.
//   bazel run -c opt //tests/bench:backlog_bench [-- --sizes=10000,100000,1000000 --trials=3]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "ray/api.h"

namespace {

int noop(int x) { return x; }

// Returns once the driver writes a byte into the pipe (workers inherit it: they are forks of
// the driver made at Init).
int block_on(int fd) {
  char byte;
  return static_cast<int>(read(fd, &byte, 1));
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// This process's resident set in bytes.
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * sysconf(_SC_PAGESIZE);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Drain {
  double rate = 0;            // tasks/s from the release of the blockers to the last result
  double bytes_per_task = 0;  // the driver's resident set growth per queued task
};

Drain DrainBacklog(int n) {
  int pipe_fds[2];  // made before Init, so that the workers have it
  if (pipe(pipe_fds) != 0) std::abort();
  ray::Init({.num_workers = 2, .num_cpus = 2});
  std::vector<ray::ObjectRef<int>> blockers;
  for (int i = 0; i < 2; ++i) blockers.push_back(ray::Remote(block_on)(pipe_fds[0]));
  std::vector<ray::ObjectRef<int>> refs;
  refs.reserve(n);
  int64_t before = ResidentBytes();
  for (int i = 0; i < n; ++i) refs.push_back(ray::Remote(noop)(i));
  Drain result;
  result.bytes_per_task = static_cast<double>(ResidentBytes() - before) / n;
  auto start = std::chrono::steady_clock::now();
  if (write(pipe_fds[1], "xx", 2) != 2) std::abort();
  std::vector<int> values = ray::Get(refs);
  result.rate = n / Seconds(start);
  if (values.back() != n - 1 || ray::Get(blockers) != std::vector<int>{1, 1}) std::abort();
  refs.clear();
  ray::Shutdown();
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  return result;
}

// Runs DrainBacklog(n) in a forked child (a process that never had a runtime) and returns what
// it measured.
Drain DrainInChild(int n) {
  int result_fds[2];
  if (pipe(result_fds) != 0) std::abort();
  pid_t child = fork();
  if (child < 0) std::abort();
  if (child == 0) {
    Drain d = DrainBacklog(n);
    _exit(write(result_fds[1], &d, sizeof(d)) == sizeof(d) ? 0 : 1);
  }
  close(result_fds[1]);
  Drain d;
  bool complete = read(result_fds[0], &d, sizeof(d)) == sizeof(d);
  close(result_fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!complete || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "the measurement of a backlog of %d failed\n", n);
    std::exit(1);
  }
  return d;
}

// The same tasks with the workers free: submitted and gathered as fast as they run.
double Unqueued(int n) {
  ray::Init({.num_workers = 2, .num_cpus = 2});
  auto start = std::chrono::steady_clock::now();
  std::vector<ray::ObjectRef<int>> refs;
  refs.reserve(n);
  for (int i = 0; i < n; ++i) refs.push_back(ray::Remote(noop)(i));
  ray::Get(refs);
  double rate = n / Seconds(start);
  refs.clear();
  ray::Shutdown();
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {10000, 100000, 1000000};
  int trials = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--sizes=", 8) == 0) {
      sizes.clear();
      for (absl::string_view s : absl::StrSplit(argv[i] + 8, ',')) {
        int n;
        if (!absl::SimpleAtoi(s, &n) || n <= 0) {
          std::fprintf(stderr, "bad --sizes: %s\n", argv[i]);
          return 2;
        }
        sizes.push_back(n);
      }
    } else if (std::strncmp(argv[i], "--trials=", 9) == 0) {
      trials = std::max(1, std::atoi(argv[i] + 9));
    } else {
      std::fprintf(stderr, "usage: %s [--sizes=N,N,...] [--trials=N]\n", argv[0]);
      return 2;
    }
  }
  std::vector<std::vector<double>> rates(sizes.size()), bytes(sizes.size());
  std::vector<double> unqueued;
  for (int t = 0; t < trials; ++t) {  // sizes interleaved, so drift hits them alike
    for (size_t s = 0; s < sizes.size(); ++s) {
      Drain d = DrainInChild(sizes[s]);
      rates[s].push_back(d.rate);
      bytes[s].push_back(d.bytes_per_task);
    }
    unqueued.push_back(Unqueued(sizes.front()));
  }
  std::printf("libray backlog benchmark: 2 workers, %d trials, medians\n", trials);
  const double baseline = Median(rates.front());
  std::printf("%-40s %12.0f tasks/s\n", "no backlog (workers free)", Median(unqueued));
  for (size_t s = 0; s < sizes.size(); ++s) {
    double rate = Median(rates[s]);
    char name[64];
    std::snprintf(name, sizeof(name), "backlog of %d drains at", sizes[s]);
    std::printf("%-40s %12.0f tasks/s  x%.2f of the %d backlog  driver memory %6.0f B/task", name,
                rate, rate / baseline, sizes.front(), Median(bytes[s]));
    if (s + 1 == sizes.size() && s > 0) {
      std::printf("  target >= x0.80: %s", rate / baseline >= 0.8 ? "PASS" : "MISS");
    }
    std::printf("\n");
  }
  double largest_bytes = Median(bytes.back()) * sizes.back();
  std::printf("%-40s %12.0f MB  target < 1000 MB: %s\n", "driver memory for the largest backlog",
              largest_bytes / 1e6, largest_bytes < 1e9 ? "PASS" : "MISS");
  return 0;
}
