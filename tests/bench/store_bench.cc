// Object store benchmark: starts a real ray_store and measures, from one client, small puts
// and gets (calls/s), large puts (GB/s, cold and warm) and the latency of Get, each beside a
// baseline (memcpy, or the same Get of a 100 B object), with PASS/MISS against the targets
// in docs/PERFORMANCE.md. A helper process, forked before any thread exists, connects its own
// client and measures Get from a second process.
//
//   bazel run -c opt //tests/bench:store_bench -- [--trials=5]
//
// Every figure is the median over the trials (each trial a fresh store), with min..max.
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ray/store/client.h"
#include "tests/bench/plain_io.h"
#include "tests/store/store_process.h"

namespace ray::store {
namespace {

using ray::bench::Prefaulted;
using ray::bench::ReadAll;
using ray::bench::WriteAll;

using Clock = std::chrono::steady_clock;

constexpr size_t kSmallSize = 100;
constexpr size_t kSmallCount = 100000;  // small puts and gets per trial
constexpr size_t kMemcpyCalls = 20000000;
constexpr size_t kLatencyGets = 1000;
constexpr int kWarmPuts = 3;  // warm large puts per size and trial (median taken)
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGiB = 1 << 30;
constexpr const char* kCapacity = "--capacity=2560M";
std::vector<std::string> store_args = {kCapacity};  // plus --store_arg=... flags

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Keeps the compiler from dropping or merging a copy into `p`.
inline void Clobber(void* p) { asm volatile("" : : "r"(p) : "memory"); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "store_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Check(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) Die(absl::StrCat(what, ": ", value.status().ToString()));
  return *std::move(value);
}
void Check(const absl::Status& status, const char* what) {
  if (!status.ok()) Die(absl::StrCat(what, ": ", status.ToString()));
}

std::span<const uint8_t> Bytes(const uint8_t* data, size_t size) { return {data, size}; }

std::vector<ObjectID> RandomIds(size_t n) {
  std::vector<ObjectID> ids(n);
  for (auto& id : ids) id = ObjectID::FromRandom();
  return ids;
}

struct Latency {
  double median_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

// `kLatencyGets` gets of `id`, each released before the next; per-call latency.
Latency MeasureGetLatency(StoreClient& client, const ObjectID& id, size_t expected_size) {
  std::vector<double> us;
  us.reserve(kLatencyGets);
  for (size_t i = 0; i < kLatencyGets + 10; ++i) {
    auto start = Clock::now();
    auto buffer = client.Get(id);
    if (!buffer.ok() || buffer->size() != expected_size) Die("Get of a sealed object failed");
    buffer->Release();
    double t = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (i >= 10) us.push_back(t);  // the first few warm the caches
  }
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100], us.back()};
}

// ---- The second process -------------------------------------------------------------------
// Forked at startup, before the benchmark allocates anything or starts a thread. For each
// request it connects its own client to the given store, measures Get latency of the given
// objects and replies.

struct ChildRequest {
  char socket_path[108];
  uint8_t ids[2][ObjectID::kSize];
  uint64_t sizes[2];
};
struct ChildReply {
  int ok;
  Latency latency[2];
};

struct Child {
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;
};

[[noreturn]] void ChildMain(int in, int out) {
  ChildRequest request;
  while (ReadAll(in, &request, sizeof(request))) {
    ChildReply reply{};
    auto client = StoreClient::Connect(request.socket_path, {.name = "bench-child"});
    if (client.ok()) {
      for (int k = 0; k < 2; ++k) {
        ObjectID id = ObjectID::FromBinaryOrNil(
            std::string_view(reinterpret_cast<const char*>(request.ids[k]), ObjectID::kSize));
        reply.latency[k] = MeasureGetLatency(**client, id, request.sizes[k]);
      }
      reply.ok = 1;
    } else {
      std::fprintf(stderr, "store_bench child: %s\n", client.status().ToString().c_str());
    }
    client = absl::UnavailableError("closed");  // disconnect before replying
    if (!WriteAll(out, &reply, sizeof(reply))) break;
  }
  _exit(0);
}

Child StartChild() {
  int down[2], up[2];
  if (pipe(down) != 0 || pipe(up) != 0) Die("pipe failed");
  Child child;
  child.pid = fork();
  if (child.pid < 0) Die("fork failed");
  if (child.pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(down[1]);
    close(up[0]);
    ChildMain(down[0], up[1]);
  }
  close(down[0]);
  close(up[1]);
  child.to_child = down[1];
  child.from_child = up[0];
  return child;
}

ChildReply AskChild(const Child& child, const std::string& socket_path, const ObjectID ids[2],
                    const uint64_t sizes[2]) {
  ChildRequest request{};
  if (socket_path.size() >= sizeof(request.socket_path)) Die("socket path too long");
  std::memcpy(request.socket_path, socket_path.c_str(), socket_path.size() + 1);
  for (int k = 0; k < 2; ++k) {
    std::memcpy(request.ids[k], ids[k].data(), ObjectID::kSize);
    request.sizes[k] = sizes[k];
  }
  ChildReply reply{};
  if (!WriteAll(child.to_child, &request, sizeof(request)) ||
      !ReadAll(child.from_child, &reply, sizeof(reply)) || !reply.ok) {
    Die("the second process failed");
  }
  return reply;
}

// ShmemPmdMapped of this process: how much shared memory it maps with 2 MiB pages.
uint64_t ShmemPmdMappedMiB() {
  uint64_t kib = 0;
  if (FILE* f = std::fopen("/proc/self/smaps_rollup", "r")) {
    char line[256];
    while (std::fgets(line, sizeof(line), f)) {
      if (std::sscanf(line, "ShmemPmdMapped: %" SCNu64, &kib) == 1) break;
    }
    std::fclose(f);
  }
  return kib >> 10;
}

// ---- One trial ------------------------------------------------------------------------------

struct Trial {
  double memcpy_small_per_s = 0;
  double put_small_per_s = 0;
  double get_small_per_s = 0;
  double get_same_per_s = 0;
  // [0] = 100 MiB, [1] = 1 GiB; GB/s (1e9 bytes/s).
  double memcpy_gbps[2] = {};
  double put_cold_gbps[2] = {};
  double put_warm_gbps[2] = {};
  bool warm_same_memory[2] = {};
  // 1 GiB put by a client that just connected, into store memory that was used before.
  double put_new_client_gbps = 0;
  uint64_t huge_mapped_mib = 0;  // this process's shared memory mapped with 2 MiB pages
  bool new_client_same_memory = false;
  Latency get_latency[2][2];  // [process: 0 this, 1 second][object: 0 = 1 GiB, 1 = 100 B]
};

constexpr uint64_t kLargeSizes[2] = {100 * kMiB, kGiB};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Trial RunTrial(const Child& child, const uint8_t* source, uint8_t* copy_target) {
  Trial t;
  testing::StoreProcess store(store_args);
  if (!store.ready()) Die("ray_store did not start (run through bazel run)");
  auto client = Check(StoreClient::Connect(store.socket_path(), {.name = "bench"}), "Connect");

  // Large puts first, while the arena is untouched: the first put of each size is cold (the
  // store's memory is neither allocated nor mapped by this client yet). The 100 MiB object
  // stays, so the 1 GiB one lands in fresh memory too.
  ObjectID kept[2];
  for (int s = 0; s < 2; ++s) {
    uint64_t size = kLargeSizes[s];
    std::vector<double> copies;
    for (int rep = 0; rep < 3; ++rep) {
      auto start = Clock::now();
      std::memcpy(copy_target, source, size);
      Clobber(copy_target);
      copies.push_back(size / Seconds(start) / 1e9);
    }
    t.memcpy_gbps[s] = Median(copies);

    ObjectID id = ObjectID::FromRandom();
    auto start = Clock::now();
    Check(client->Put(id, Bytes(source, size)), "large Put");
    Check(client->Flush(), "Flush");
    t.put_cold_gbps[s] = size / Seconds(start) / 1e9;
    const uint8_t* where = Check(client->Get(id), "Get").data();

    std::vector<double> warm;
    bool same = true;
    for (int rep = 0; rep < kWarmPuts; ++rep) {
      Check(client->Delete(std::span<const ObjectID>(&id, 1)), "Delete");
      id = ObjectID::FromRandom();
      start = Clock::now();
      Check(client->Put(id, Bytes(source, size)), "large Put");
      Check(client->Flush(), "Flush");
      warm.push_back(size / Seconds(start) / 1e9);
      same = same && Check(client->Get(id), "Get").data() == where;
    }
    t.put_warm_gbps[s] = Median(warm);
    t.warm_same_memory[s] = same;
    kept[s] = id;
  }

  t.huge_mapped_mib = ShmemPmdMappedMiB();

  // A new client puts 1 GiB where the last one was: the pages exist, only its mapping faults.
  {
    const uint8_t* small_one = Check(client->Get(kept[0]), "Get").data();
    ptrdiff_t distance = Check(client->Get(kept[1]), "Get").data() - small_one;
    auto second = Check(StoreClient::Connect(store.socket_path(), {.name = "bench-2"}), "Connect");
    Check(client->Delete(std::span<const ObjectID>(&kept[1], 1)), "Delete");
    kept[1] = ObjectID::FromRandom();
    auto start = Clock::now();
    Check(second->Put(kept[1], Bytes(source, kGiB)), "large Put");
    Check(second->Flush(), "Flush");
    t.put_new_client_gbps = kGiB / Seconds(start) / 1e9;
    t.new_client_same_memory =
        Check(second->Get(kept[1]), "Get").data() - Check(second->Get(kept[0]), "Get").data() ==
        distance;
  }

  // Small puts: distinct IDs, 100 B each, the final Flush included.
  std::vector<uint8_t> payload(kSmallSize, 0x5a);
  std::vector<ObjectID> ids = RandomIds(kSmallCount);
  auto start = Clock::now();
  for (const ObjectID& id : ids) Check(client->Put(id, payload), "small Put");
  Check(client->Flush(), "Flush");
  t.put_small_per_s = kSmallCount / Seconds(start);

  // Baseline: memcpy of 100 B into a preallocated buffer (cycling over 64 slots).
  std::vector<uint8_t> slots(64 * 128);
  start = Clock::now();
  for (size_t i = 0; i < kMemcpyCalls; ++i) {
    uint8_t* dst = slots.data() + (i & 63) * 128;
    std::memcpy(dst, payload.data(), kSmallSize);
    Clobber(dst);
  }
  t.memcpy_small_per_s = kMemcpyCalls / Seconds(start);

  // Small gets of distinct sealed objects, each buffer released.
  size_t bytes = 0;
  start = Clock::now();
  for (const ObjectID& id : ids) {
    auto buffer = client->Get(id);
    if (!buffer.ok()) Die(absl::StrCat("small Get: ", buffer.status().ToString()));
    bytes += buffer->size();
  }
  t.get_small_per_s = kSmallCount / Seconds(start);
  if (bytes != kSmallCount * kSmallSize) Die("small Get returned the wrong sizes");
  // ... and of one object, repeatedly.
  start = Clock::now();
  for (size_t i = 0; i < kSmallCount; ++i) {
    auto buffer = client->Get(ids[0]);
    if (!buffer.ok()) Die("repeated Get failed");
  }
  t.get_same_per_s = kSmallCount / Seconds(start);

  // Get latency: the 1 GiB object and a 100 B one, here and from the second process.
  t.get_latency[0][0] = MeasureGetLatency(*client, kept[1], kGiB);
  t.get_latency[0][1] = MeasureGetLatency(*client, ids[1], kSmallSize);
  ObjectID latency_ids[2] = {kept[1], ids[1]};
  uint64_t latency_sizes[2] = {kGiB, kSmallSize};
  ChildReply reply = AskChild(child, store.socket_path(), latency_ids, latency_sizes);
  t.get_latency[1][0] = reply.latency[0];
  t.get_latency[1][1] = reply.latency[1];
  return t;
}

// ---- The table ------------------------------------------------------------------------------

struct Spread {
  double median, min, max;
};
template <typename F>
Spread Over(const std::vector<Trial>& trials, F field) {
  std::vector<double> v;
  for (const Trial& t : trials) v.push_back(field(t));
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

std::string Rate(double per_s) {
  if (per_s >= 1e6) return absl::StrFormat("%.2fM/s", per_s / 1e6);
  return absl::StrFormat("%.0fk/s", per_s / 1e3);
}
std::string RateSpread(const Spread& s) {
  return absl::StrCat(Rate(s.median), " [", Rate(s.min), "..", Rate(s.max), "]");
}
std::string GbpsSpread(const Spread& s) {
  return absl::StrFormat("%.2f GB/s [%.2f..%.2f]", s.median, s.min, s.max);
}
std::string UsSpread(const Spread& s) {
  return absl::StrFormat("%.2f us [%.2f..%.2f]", s.median, s.min, s.max);
}

// The kernel's transparent huge page policy for shared memory (the arena is a memfd).
std::string ShmemThp() {
  std::string text;
  if (FILE* f = std::fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "r")) {
    char line[256];
    if (std::fgets(line, sizeof(line), f)) text = line;
    std::fclose(f);
  }
  auto open = text.find('['), close = text.find(']');
  if (open == std::string::npos || close == std::string::npos) return "unknown";
  return text.substr(open + 1, close - open - 1);
}

// Nanoseconds one Clock::now() takes, included once in each latency sample.
double TimerNanos() {
  constexpr int kReads = 1000000;
  auto start = Clock::now();
  for (int i = 0; i < kReads; ++i)
    Clobber(reinterpret_cast<void*>(Clock::now().time_since_epoch().count()));
  return Seconds(start) * 1e9 / kReads;
}

int misses = 0;
void Row(const std::string& figure, const std::string& value, const std::string& baseline,
         const std::string& ratio, const std::string& target, int pass) {
  const char* verdict = pass < 0 ? "" : pass ? "PASS" : "MISS";
  if (pass == 0) ++misses;
  std::printf("| %-40s | %-28s | %-32s | %-6s | %-15s | %-4s |\n", figure.c_str(), value.c_str(),
              baseline.c_str(), ratio.c_str(), target.c_str(), verdict);
}

void PrintTable(const std::vector<Trial>& trials) {
  std::string args;
  for (const auto& a : store_args) absl::StrAppend(&args, " ", a);
  std::printf(
      "\nObject store, %zu trials (each a fresh ray_store%s), shmem THP: %s\n"
      "median [min..max] over the trials\n\n",
      trials.size(), args.c_str(), ShmemThp().c_str());
  std::printf("| %-40s | %-28s | %-32s | %-6s | %-15s | %-4s |\n", "figure", "value", "baseline",
              "ratio", "target", "");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", std::string(42, '-').c_str(), std::string(30, '-').c_str(),
              std::string(34, '-').c_str(), std::string(8, '-').c_str(),
              std::string(17, '-').c_str(), std::string(6, '-').c_str());
  Spread memcpy_small = Over(trials, [](const Trial& t) { return t.memcpy_small_per_s; });
  std::string memcpy_label = absl::StrCat("memcpy 100 B: ", Rate(memcpy_small.median));

  Spread put = Over(trials, [](const Trial& t) { return t.put_small_per_s; });
  Row("small put, 100 B, distinct IDs", RateSpread(put), memcpy_label,
      absl::StrFormat("%.4f", put.median / memcpy_small.median), ">= 50k/s", put.median >= 50000);
  Spread get = Over(trials, [](const Trial& t) { return t.get_small_per_s; });
  Row("small get, 100 B, distinct IDs", RateSpread(get), memcpy_label,
      absl::StrFormat("%.4f", get.median / memcpy_small.median), ">= 100k/s", get.median >= 100000);
  Spread same = Over(trials, [](const Trial& t) { return t.get_same_per_s; });
  Row("small get, 100 B, same ID", RateSpread(same), memcpy_label,
      absl::StrFormat("%.4f", same.median / memcpy_small.median), ">= 100k/s",
      same.median >= 100000);

  const char* names[2] = {"100 MiB", "1 GiB"};
  for (int s = 0; s < 2; ++s) {
    Spread copy = Over(trials, [s](const Trial& t) { return t.memcpy_gbps[s]; });
    Spread cold = Over(trials, [s](const Trial& t) { return t.put_cold_gbps[s]; });
    Spread warm = Over(trials, [s](const Trial& t) { return t.put_warm_gbps[s]; });
    bool same = true;
    for (const Trial& t : trials) same = same && t.warm_same_memory[s];
    std::string baseline = absl::StrFormat("memcpy (pre-faulted): %.2f GB/s", copy.median);
    // Ratios are taken within each trial (put and memcpy a moment apart), then the median.
    double cold_ratio =
        Over(trials, [s](const Trial& t) { return t.put_cold_gbps[s] / t.memcpy_gbps[s]; }).median;
    double warm_ratio =
        Over(trials, [s](const Trial& t) { return t.put_warm_gbps[s] / t.memcpy_gbps[s]; }).median;
    Row(absl::StrCat("put ", names[s], ", cold (first)"), GbpsSpread(cold), baseline,
        absl::StrFormat("%.2f", cold_ratio), ">= 0.7 x memcpy", cold_ratio >= 0.7);
    Row(absl::StrCat("put ", names[s], same ? ", warm (same memory)" : ", warm (MOVED)"),
        GbpsSpread(warm), baseline, absl::StrFormat("%.2f", warm_ratio), ">= 0.7 x memcpy",
        warm_ratio >= 0.7);
    if (s == 1) {
      Spread fresh = Over(trials, [](const Trial& t) { return t.put_new_client_gbps; });
      bool same = true;
      for (const Trial& t : trials) same = same && t.new_client_same_memory;
      double ratio = Over(trials, [](const Trial& t) {
                       return t.put_new_client_gbps / t.memcpy_gbps[1];
                     }).median;
      Row(same ? "put 1 GiB, new client, used memory" : "put 1 GiB, new client (MOVED)",
          GbpsSpread(fresh), baseline, absl::StrFormat("%.2f", ratio), ">= 0.7 x memcpy",
          ratio >= 0.7);
    }
  }

  const char* procs[2] = {"same process", "second process"};
  for (int p = 0; p < 2; ++p) {
    Spread small_med = Over(trials, [p](const Trial& t) { return t.get_latency[p][1].median_us; });
    Spread small_p99 = Over(trials, [p](const Trial& t) { return t.get_latency[p][1].p99_us; });
    Spread big_med = Over(trials, [p](const Trial& t) { return t.get_latency[p][0].median_us; });
    Spread big_p99 = Over(trials, [p](const Trial& t) { return t.get_latency[p][0].p99_us; });
    Row(absl::StrCat("get 1 GiB latency, ", procs[p], ", p50"), UsSpread(big_med),
        absl::StrFormat("100 B: %.2f us", small_med.median),
        absl::StrFormat("%.2f", big_med.median / small_med.median), "< 50 us", big_med.median < 50);
    Row(absl::StrCat("get 1 GiB latency, ", procs[p], ", p99"), UsSpread(big_p99),
        absl::StrFormat("100 B: %.2f us", small_p99.median),
        absl::StrFormat("%.2f", big_p99.median / small_p99.median), "< 50 us", big_p99.median < 50);
    Row(absl::StrCat("get 100 B latency, ", procs[p], ", p50"), UsSpread(small_med), "", "",
        "< 50 us", small_med.median < 50);
    Row(absl::StrCat("get 100 B latency, ", procs[p], ", p99"), UsSpread(small_p99), "", "",
        "< 50 us", small_p99.median < 50);
  }
  std::printf(
      "\nrates are calls/s from one client; GB/s = 1e9 bytes/s; latency = one Get + Release "
      "(includes one clock read: %.0f ns).\nlarge-put ratios: put / memcpy within each trial, "
      "median over trials.\n"
      "cold = the first put into store memory never touched; warm = delete, then put again "
      "into the same memory;\nnew client = a client that just connected puts into memory "
      "used before (only its own page mappings are missing).\n"
      "arena mapped by this client with 2 MiB pages after the large puts: %" PRIu64
      " MiB.\n%d target(s) missed.\n",
      TimerNanos(),
      static_cast<uint64_t>(
          Over(trials, [](const Trial& t) { return double(t.huge_mapped_mib); }).median),
      misses);
}

int Main(int argc, char** argv) {
  int trials = 5;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--trials=") && absl::SimpleAtoi(absl::string_view(argv[i] + 9), &trials) &&
        trials > 0) {
      continue;
    }
    if (arg.starts_with("--store_arg=")) {
      store_args.emplace_back(arg.substr(12));
      continue;
    }
    std::fprintf(stderr, "usage: store_bench [--trials=N] [--store_arg=--flag=value ...]\n");
    return 2;
  }
  // Run from the runfiles tree when started directly from bazel-bin.
  if (access(testing::StoreProcess::Binary().c_str(), X_OK) != 0) {
    std::string runfiles = absl::StrCat(argv[0], ".runfiles/libray");
    if (chdir(runfiles.c_str()) != 0) Die("cannot find ray/store/ray_store in the runfiles");
  }
  Child child = StartChild();  // before any thread or large allocation

  uint8_t* source = Prefaulted(kGiB, 0x5a);
  uint8_t* copy_target = Prefaulted(kGiB, 0);
  if (source == nullptr || copy_target == nullptr) Die("mmap failed");
  std::vector<Trial> results;
  for (int i = 0; i < trials; ++i) {
    results.push_back(RunTrial(child, source, copy_target));
    const Trial& t = results.back();
    std::fprintf(stderr,
                 "trial %d: put %.0f/s get %.0f/s, 1 GiB put cold %.2f warm %.2f memcpy %.2f "
                 "GB/s, get 1 GiB p50 %.2f us (second process %.2f us)\n",
                 i + 1, t.put_small_per_s, t.get_small_per_s, t.put_cold_gbps[1],
                 t.put_warm_gbps[1], t.memcpy_gbps[1], t.get_latency[0][0].median_us,
                 t.get_latency[1][0].median_us);
  }
  PrintTable(results);
  close(child.to_child);
  waitpid(child.pid, nullptr, 0);
  return 0;
}

}  // namespace
}  // namespace ray::store

int main(int argc, char** argv) { return ray::store::Main(argc, argv); }
