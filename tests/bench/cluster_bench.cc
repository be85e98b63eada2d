// Cluster benchmark: nodes started by the real `ray` binary on 127.0.0.1 (in a private TMPDIR)
// and this program's driver joining them. Each figure is printed beside a baseline measured in
// the same run, and their ratio:
//   get    a cross-node ray::GetView of 100 MB and 1 GB (made by a task on another node) vs a
//          plain TCP stream of the same bytes between two processes on loopback;
//   sync   no-op tasks on another node, each waited for before the next, vs a TCP ping-pong;
//   scale  sleeping tasks over 1, 2 and 4 nodes of 2 CPUs vs the ideal (tasks * sleep / CPUs);
//   start  `ray start --head`, `ray start --address`, ray::Init with an address (the first,
//          which uploads the program, and one after Shutdown) vs ray::Init without an address;
//   many   20,000 no-op tasks over 16 nodes of 1 CPU vs the same tasks with no cluster.
//
//   bazel run -c opt //tests/bench:cluster_bench -- [--trials=3] [--quick]
//       [--only=get,sync,scale,start,many] [--ray=PATH] [--tls]
// --tls: every node and the driver use TLS (certificates made for the run by
// scripts/make_cluster_certs.sh); the baselines stay plain TCP.
//
// Figures are medians over the trials (min..max beside them). The nodes run this program as
// their workers (fetched from the head), so main enters worker mode before anything else.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ray/api.h"
#include "tests/bench/plain_io.h"
#include "tests/cluster/run_program.h"

namespace {

using ray::bench::Prefaulted;
using ray::bench::ReadAll;
using ray::bench::WriteAll;
using ray::testing::RunProgram;
using ray::testing::RunResult;

using Clock = std::chrono::steady_clock;

constexpr uint64_t kMB = 1000 * 1000;
constexpr uint64_t kGB = 1000 * kMB;
constexpr auto kTaskTimeout = std::chrono::seconds(600);

// A part that cannot go on: its message is printed in place of the part's figures.
class BenchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string LoadAverage() {
  std::ifstream file("/proc/loadavg");
  std::string a, b, c;
  file >> a >> b >> c;
  return absl::StrCat(a, " ", b, " ", c);
}

// ---- Tasks (they run in workers on the nodes) ----

std::vector<uint8_t> MakeBytes(int64_t n, int seed) {
  return std::vector<uint8_t>(static_cast<size_t>(n), static_cast<uint8_t>(seed));
}
int NoOp() { return 0; }
int SleepMs(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}

// ---- Plain baselines: processes forked before this one starts a thread ----

[[noreturn]] void DieInChild(int code) { _exit(code); }

int ListenLoopback(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  socklen_t length = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 4) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    std::fprintf(stderr, "cluster_bench: cannot listen on loopback\n");
    std::exit(1);
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return -1;
  return fd;
}

// Two helper processes: a stream sender (for each size written on `requests` it connects to
// the stream listener and writes that many bytes from a buffer it has touched before) and an
// echo peer (connected to the echo listener, it sends back each byte it reads).
class Baselines {
 public:
  Baselines() {
    stream_listener_ = ListenLoopback(&stream_port_);
    echo_listener_ = ListenLoopback(&echo_port_);
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) std::abort();
    sender_ = fork();
    if (sender_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      close(pipe_fds[1]);
      uint8_t* source = nullptr;
      uint64_t have = 0, size = 0;
      while (ReadAll(pipe_fds[0], &size, sizeof(size))) {
        if (size > have) {
          if (source != nullptr) munmap(source, have);
          source = Prefaulted(size, 0x5a);
          if (source == nullptr) DieInChild(3);
          have = size;
        }
        int fd = ConnectLoopback(stream_port_);
        if (fd < 0 || !WriteAll(fd, source, size)) DieInChild(4);
        close(fd);
      }
      DieInChild(0);
    }
    close(pipe_fds[0]);
    requests_ = pipe_fds[1];
    echo_ = fork();
    if (echo_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ConnectLoopback(echo_port_);
      if (fd < 0) DieInChild(5);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      char byte;
      while (read(fd, &byte, 1) == 1) {
        if (write(fd, &byte, 1) != 1) break;
      }
      DieInChild(0);
    }
  }
  ~Baselines() {
    close(requests_);
    if (echo_fd_ >= 0) close(echo_fd_);
    close(echo_listener_);
    kill(echo_, SIGKILL);
    waitpid(sender_, nullptr, 0);
    waitpid(echo_, nullptr, 0);
  }

  // Seconds for `size` bytes to arrive into `buffer` over one new TCP connection.
  double Stream(uint8_t* buffer, uint64_t size) {
    auto start = Clock::now();
    if (!WriteAll(requests_, &size, sizeof(size))) throw BenchError("the stream sender is gone");
    int fd = accept(stream_listener_, nullptr, nullptr);
    if (fd < 0) throw BenchError("accept failed");
    bool ok = ReadAll(fd, buffer, size);
    double seconds = Seconds(start);
    close(fd);
    if (!ok) throw BenchError("the TCP stream ended early");
    return seconds;
  }

  // Round trips of one byte per second, over `n` of them.
  double PingPong(int n) {
    if (echo_fd_ < 0) {
      echo_fd_ = accept(echo_listener_, nullptr, nullptr);
      if (echo_fd_ < 0) throw BenchError("accept failed");
      int one = 1;
      setsockopt(echo_fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    auto start = Clock::now();
    char byte = 'x';
    for (int i = 0; i < n; ++i) {
      if (write(echo_fd_, &byte, 1) != 1 || read(echo_fd_, &byte, 1) != 1) {
        throw BenchError("the echo peer is gone");
      }
    }
    return n / Seconds(start);
  }

 private:
  int stream_port_ = 0, echo_port_ = 0;
  int stream_listener_ = -1, echo_listener_ = -1;
  int requests_ = -1, echo_fd_ = -1;
  pid_t sender_ = -1, echo_ = -1;
};

// ---- The `ray` command ----

// Runs `ray args...` to its end.
RunResult RunRay(const std::string& ray, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {ray};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(std::move(argv));
}

// The nodes of one part. Whatever happens, `ray stop --force` stops them when it ends.
class Nodes {
 public:
  explicit Nodes(std::string ray) : ray_(std::move(ray)) {}
  ~Nodes() {
    if (ray::IsInitialized()) ray::Shutdown();
    Stop();
  }
  Nodes(const Nodes&) = delete;
  Nodes& operator=(const Nodes&) = delete;

  // `ray start --head args...`; returns the seconds it took.
  double StartHead(std::vector<std::string> args) {
    args.insert(args.begin(), {"start", "--head", "--port=0"});
    auto start = Clock::now();
    RunResult run = RunRay(ray_, args);
    double seconds = Seconds(start);
    if (run.exit_code != 0) throw BenchError("ray start --head failed: " + run.output);
    std::smatch match;
    if (!std::regex_search(run.output, match, std::regex("Cluster address: (\\S+)"))) {
      throw BenchError("ray start --head printed no address: " + run.output);
    }
    address_ = match[1].str();
    return seconds;
  }
  // `ray start --address=<the head> args...`; returns the seconds it took.
  double Join(std::vector<std::string> args) {
    args.insert(args.begin(), {"start", "--address=" + address_});
    auto start = Clock::now();
    RunResult run = RunRay(ray_, args);
    double seconds = Seconds(start);
    if (run.exit_code != 0) throw BenchError("ray start --address failed: " + run.output);
    return seconds;
  }
  void Stop() {
    if (address_.empty()) return;
    RunResult run = RunRay(ray_, {"stop", "--force"});
    if (run.exit_code != 0) std::fprintf(stderr, "ray stop --force: %s\n", run.output.c_str());
    address_.clear();
  }
  const std::string& address() const { return address_; }

 private:
  std::string ray_;
  std::string address_;
};

// ---- Figures ----

struct Spread {
  double median = 0, min = 0, max = 0;
};
Spread Of(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}
// "median (min..max)" with `digits` decimals.
std::string Fig(const Spread& s, int digits) {
  return absl::StrFormat("%.*f (%.*f..%.*f)", digits, s.median, digits, s.min, digits, s.max);
}
const char* Verdict(bool pass) { return pass ? "PASS" : "MISS"; }

struct Config {
  std::string ray;
  int trials = 3;
  bool quick = false;
  bool tls = false;
  std::set<std::string> parts;
};

std::string SizeName(uint64_t size) {
  return size >= kGB && size % kGB == 0 ? absl::StrCat(size / kGB, " GB")
                                        : absl::StrCat(size / kMB, " MB");
}

// ---- 1. Cross-node Get ----

void GetPart(const Config& config, Baselines& baselines) {
  const std::vector<uint64_t> sizes = config.quick ? std::vector<uint64_t>{10 * kMB, 50 * kMB}
                                                   : std::vector<uint64_t>{100 * kMB, 1 * kGB};
  const std::string memory = config.quick ? "256M" : "2560M";
  const uint64_t memory_bytes = config.quick ? 256ull << 20 : 2560ull << 20;
  Nodes nodes(config.ray);
  nodes.StartHead(
      {"--num-cpus=2", R"(--resources={"b_box": 2})", "--object-store-memory=" + memory});
  ray::Init({.num_workers = 1, .object_store_memory = memory_bytes, .address = nodes.address()});
  uint8_t* received = Prefaulted(sizes.back(), 0);
  if (received == nullptr) throw BenchError("mmap failed");
  std::vector<double> colds;
  for (uint64_t size : sizes) {
    std::vector<double> gets, streams, ratios;
    for (int t = -1; t < config.trials; ++t) {  // trial -1 warms up (the driver store's pages)
      auto ref = ray::Remote(MakeBytes).Options({.resources = {{"b_box", 1}}})(
          static_cast<int64_t>(size), t + 2);
      ray::Wait(std::vector{ref}, 1, kTaskTimeout);  // it exists on node B
      auto start = Clock::now();
      ray::ArrayView<uint8_t> view;
      try {
        view = ray::GetView(ref, kTaskTimeout);
      } catch (const ray::RayError& e) {
        throw BenchError(absl::StrCat(SizeName(size), ", ",
                                      t < 0 ? "warm-up" : absl::StrCat("trial ", t + 1),
                                      ": ray::GetView after ray::Wait said it exists: ", e.what()));
      }
      double get = Seconds(start);
      if (view.size() != size || view[0] != t + 2 || view[size / 2] != t + 2 ||
          view[size - 1] != t + 2) {
        throw BenchError(absl::StrCat("the object of ", size, " bytes read back wrong"));
      }
      view = {};
      ref = {};
      double stream = baselines.Stream(received, size);
      if (t == -1) {
        colds.push_back(size / get / 1e9);
        continue;
      }
      gets.push_back(size / get / 1e9);
      streams.push_back(size / stream / 1e9);
      ratios.push_back(stream / get);
    }
    Spread r = Of(ratios);
    std::printf(
        "get %-6s  ray::GetView from node B %s GB/s  TCP stream %s GB/s  ratio x%.2f  target >= "
        "x0.70: %s\n",
        SizeName(size).c_str(), Fig(Of(gets), 2).c_str(), Fig(Of(streams), 2).c_str(), r.median,
        Verdict(r.median >= 0.7));
    std::fflush(stdout);
  }
  munmap(received, sizes.back());
  ray::Shutdown();
  std::printf(
      "get: timed from the call to the view, once the object exists on node B (ray::Wait); the "
      "copy into the driver's store is in it. Ratio: the median of stream time / Get time within "
      "a trial. A warm-up round first, not counted: its Get, into pages of the driver's store "
      "not touched yet (first touch), ran at %.2f GB/s (%s) and %.2f GB/s (%s).\n",
      colds[0], SizeName(sizes[0]).c_str(), colds[1], SizeName(sizes[1]).c_str());
}

// ---- 2. Remote sync tasks ----

void SyncPart(const Config& config, Baselines& baselines) {
  const int n = config.quick ? 200 : 2000;
  Nodes nodes(config.ray);
  nodes.StartHead({"--num-cpus=2", R"(--resources={"b_box": 2})", "--object-store-memory=64M"});
  ray::Init({.num_workers = 1, .object_store_memory = 64 << 20, .address = nodes.address()});
  auto on_b = ray::Remote(NoOp).Options({.resources = {{"b_box", 1}}});
  for (int i = 0; i < 20; ++i) ray::Get(on_b(), kTaskTimeout);  // B's worker is up
  std::vector<double> tasks, pings, ratios;
  for (int t = 0; t < config.trials; ++t) {
    auto start = Clock::now();
    for (int i = 0; i < n; ++i) ray::Get(on_b(), kTaskTimeout);
    double rate = n / Seconds(start);
    double ping = baselines.PingPong(n * 10);
    tasks.push_back(rate);
    pings.push_back(ping);
    ratios.push_back(rate / ping);
  }
  ray::Shutdown();
  Spread r = Of(ratios);
  std::printf(
      "sync  no-op tasks on node B, Get each %s /s  TCP ping-pong (1 byte) %s /s  ratio x%.3f  "
      "target >= x0.50: %s\n",
      Fig(Of(tasks), 0).c_str(), Fig(Of(pings), 0).c_str(), r.median, Verdict(r.median >= 0.5));
}

// ---- 3. Sleep-bound tasks over 1, 2 and 4 nodes ----

void ScalePart(const Config& config) {
  const int n = config.quick ? 16 : 80;
  const int sleep_ms = config.quick ? 20 : 50;
  const int cpus_per_node = 2;
  Nodes nodes(config.ray);
  // Only the started nodes have `slot`s: none of these tasks runs on the driver's node.
  const std::vector<std::string> node_args = {"--num-cpus=2", R"(--resources={"slot": 2})",
                                              "--object-store-memory=64M"};
  nodes.StartHead(node_args);
  int started = 1;
  for (int count : {1, 2, 4}) {
    for (; started < count; ++started) nodes.Join(node_args);
    ray::Init({.num_workers = 1, .object_store_memory = 64 << 20, .address = nodes.address()});
    auto sleeper = ray::Remote(SleepMs).Options({.resources = {{"slot", 1}}});
    std::vector<double> walls;
    for (int t = -1; t < config.trials; ++t) {  // trial -1 starts the nodes' workers
      auto start = Clock::now();
      std::vector<ray::ObjectRef<int>> refs;
      for (int i = 0; i < n; ++i) refs.push_back(sleeper(sleep_ms));
      ray::Get(refs, kTaskTimeout);
      if (t >= 0) walls.push_back(Seconds(start));
    }
    ray::Shutdown();
    int cpus = count * cpus_per_node;
    double ideal = n * sleep_ms / 1000.0 / cpus;
    Spread w = Of(walls);
    double ratio = w.median / ideal;
    std::printf("scale %d node%s (%d CPUs): %d tasks of %d ms in %s s  ideal %.3f s  ratio x%.2f",
                count, count == 1 ? " " : "s", cpus, n, sleep_ms, Fig(w, 3).c_str(), ideal, ratio);
    if (count == 4) std::printf("  target <= x1.30: %s", Verdict(ratio <= 1.3));
    std::printf("\n");
    std::fflush(stdout);
  }
}

// ---- 4. Starting nodes and drivers ----

void StartPart(const Config& config) {
  std::vector<double> heads, joins, inits, reinits, locals;
  for (int t = 0; t < config.trials; ++t) {
    auto start = Clock::now();
    ray::Init({.num_workers = 1, .object_store_memory = 64 << 20});
    locals.push_back(Seconds(start) * 1000);
    ray::Shutdown();
    Nodes nodes(config.ray);
    heads.push_back(nodes.StartHead({"--num-cpus=1", "--object-store-memory=64M"}) * 1000);
    joins.push_back(nodes.Join({"--num-cpus=1", "--object-store-memory=64M"}) * 1000);
    for (auto* into : {&inits, &reinits}) {
      start = Clock::now();
      ray::Init({.num_workers = 1, .object_store_memory = 64 << 20, .address = nodes.address()});
      into->push_back(Seconds(start) * 1000);
      ray::Shutdown();
    }
  }
  Spread local = Of(locals);
  auto row = [&](const char* what, const std::vector<double>& ms) {
    Spread s = Of(ms);
    std::printf(
        "start %-38s %s ms  ray::Init without an address %s ms  ratio x%.2f  target < 500 ms: "
        "%s\n",
        what, Fig(s, 1).c_str(), Fig(local, 1).c_str(), s.median / local.median,
        Verdict(s.median < 500));
  };
  row("ray start --head (until it serves)", heads);
  row("ray start --address (joined)", joins);
  row("ray::Init({.address}) first (uploads)", inits);
  row("ray::Init({.address}) after Shutdown", reinits);
}

// ---- 5. Many nodes, many tasks ----

void ManyPart(const Config& config) {
  const int node_count = config.quick ? 4 : 16;
  const int n = config.quick ? 2000 : 20000;
  Nodes nodes(config.ray);
  const std::vector<std::string> node_args = {"--num-cpus=1", R"(--resources={"slot": 1})",
                                              "--object-store-memory=32M"};
  nodes.StartHead(node_args);
  for (int i = 1; i < node_count; ++i) nodes.Join(node_args);
  // The same tasks on both sides: each holds a `slot`, which only the started nodes have in the
  // cluster and the driver's own node has `node_count` of without one.
  auto run = [&](bool cluster) {
    if (cluster) {
      ray::Init({.num_workers = 1, .object_store_memory = 64 << 20, .address = nodes.address()});
    } else {
      ray::Init({.num_workers = node_count,
                 .object_store_memory = 64 << 20,
                 .resources = {{"slot", static_cast<double>(node_count)}}});
    }
    auto no_op = ray::Remote(NoOp).Options({.resources = {{"slot", 1}}});
    std::vector<ray::ObjectRef<int>> warm;
    for (int i = 0; i < 4 * node_count; ++i) warm.push_back(no_op());
    ray::Get(warm, kTaskTimeout);  // every worker is up
    auto start = Clock::now();
    std::vector<ray::ObjectRef<int>> refs;
    refs.reserve(n);
    for (int i = 0; i < n; ++i) refs.push_back(no_op());
    ray::Get(refs, kTaskTimeout);
    double us = Seconds(start) * 1e6 / n;
    ray::Shutdown();
    return us;
  };
  std::vector<double> clustered, locals, ratios;
  for (int t = 0; t < config.trials; ++t) {
    double c = run(true);
    double l = run(false);
    clustered.push_back(c);
    locals.push_back(l);
    ratios.push_back(c / l);
  }
  Spread r = Of(ratios);
  std::printf(
      "many  %d nodes x 1 CPU, %d no-op tasks at once: %s us/task  no cluster (%d workers) %s "
      "us/task  ratio x%.2f  target <= x2.00: %s\n",
      node_count, n, Fig(Of(clustered), 1).c_str(), node_count, Fig(Of(locals), 1).c_str(),
      r.median, Verdict(r.median <= 2.0));
}

// Where a file of this program's runfiles is (`path` from the workspace's root), or "".
std::string FindRunfile(const char* argv0, const std::string& path) {
  std::vector<std::string> candidates;
  if (const char* dir = std::getenv("RUNFILES_DIR")) {
    candidates.push_back(absl::StrCat(dir, "/libray/", path));
  }
  if (const char* dir = std::getenv("TEST_SRCDIR")) {
    candidates.push_back(absl::StrCat(dir, "/libray/", path));
  }
  candidates.push_back(absl::StrCat(argv0, ".runfiles/libray/", path));
  candidates.push_back(path);
  for (const std::string& candidate : candidates) {
    if (access(candidate.c_str(), R_OK) == 0) return std::filesystem::absolute(candidate).string();
  }
  return "";
}

// Makes a CA and a certificate in `dir` and turns TLS on for this process and the nodes it
// starts (they inherit the environment).
void UseTls(const char* argv0, const std::string& dir) {
  std::string script = FindRunfile(argv0, "scripts/make_cluster_certs.sh");
  if (script.empty()) throw BenchError("no scripts/make_cluster_certs.sh in the runfiles");
  RunResult made = RunProgram({"/bin/bash", script, dir});
  if (made.exit_code != 0) throw BenchError("make_cluster_certs.sh failed: " + made.output);
  setenv("RAY_USE_TLS", "1", 1);
  setenv("RAY_TLS_SERVER_CERT", (dir + "/node.crt").c_str(), 1);
  setenv("RAY_TLS_SERVER_KEY", (dir + "/node.key").c_str(), 1);
  setenv("RAY_TLS_CA_CERT", (dir + "/ca.crt").c_str(), 1);
}

int Main(int argc, char** argv) {
  Config config;
  const std::vector<std::string> all = {"get", "sync", "scale", "start", "many"};
  config.parts = {all.begin(), all.end()};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool ok = false;
    if (arg.starts_with("--trials=")) {
      ok = absl::SimpleAtoi(arg.substr(9), &config.trials) && config.trials >= 1;
    } else if (arg == "--quick") {
      ok = config.quick = true;
    } else if (arg == "--tls") {
      ok = config.tls = true;
    } else if (arg.starts_with("--ray=")) {
      config.ray = arg.substr(6);
      ok = true;
    } else if (arg.starts_with("--only=")) {
      config.parts.clear();
      ok = true;
      for (const std::string& part : std::vector<std::string>(absl::StrSplit(arg.substr(7), ','))) {
        ok &= std::find(all.begin(), all.end(), part) != all.end();
        config.parts.insert(part);
      }
    }
    if (!ok) {
      std::fprintf(stderr,
                   "usage: cluster_bench [--trials=N] [--quick] "
                   "[--only=get,sync,scale,start,many] [--ray=PATH] [--tls]\n");
      return 2;
    }
  }
  if (config.ray.empty()) config.ray = FindRunfile(argv[0], "ray/cli/ray");
  if (config.ray.empty() || access(config.ray.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "cluster_bench: no `ray` binary (give --ray=PATH)\n");
    return 2;
  }
  // The nodes' folders, tokens and `ray stop` see only this run's (a unix socket's path must
  // stay short: not under a test's TEST_TMPDIR).
  std::string tmp = "/tmp/cluster-bench-XXXXXX";
  if (mkdtemp(tmp.data()) == nullptr) {
    std::fprintf(stderr, "cluster_bench: mkdtemp failed\n");
    return 1;
  }
  setenv("TMPDIR", tmp.c_str(), 1);
  unsetenv("RAY_ADDRESS");
  unsetenv("RAY_AUTH_TOKEN");
  Baselines baselines;  // forked before any thread starts
  if (config.tls) {
    try {
      UseTls(argv[0], tmp + "/certs");
    } catch (const BenchError& e) {
      std::fprintf(stderr, "cluster_bench: %s\n", e.what());
      return 1;
    }
  }

  std::printf(
      "libray cluster benchmark: %d trials%s%s, medians (min..max); load average %s; %u cores\n",
      config.trials, config.quick ? ", quick" : "", config.tls ? ", TLS on" : "", LoadAverage().c_str(),
      std::thread::hardware_concurrency());
  std::fflush(stdout);
  int failed = 0;
  auto part = [&](const std::string& name, const std::function<void()>& body) {
    if (!config.parts.contains(name)) return;
    try {
      body();
    } catch (const std::exception& e) {
      ++failed;
      std::printf("%s: ERROR: %s\n", name.c_str(), e.what());
      if (ray::IsInitialized()) ray::Shutdown();
    }
    std::fflush(stdout);
  };
  part("get", [&] { GetPart(config, baselines); });
  part("sync", [&] { SyncPart(config, baselines); });
  part("scale", [&] { ScalePart(config); });
  part("start", [&] { StartPart(config); });
  part("many", [&] { ManyPart(config); });
  std::printf("load average at the end: %s\n", LoadAverage().c_str());
  RunRay(config.ray, {"stop", "--force"});  // anything a part left
  std::error_code ignored;
  std::filesystem::remove_all(tmp, ignored);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  ray::RunAsWorkerIfStarted();  // a node started this program as a worker: serve, never return
  return Main(argc, argv);
}
