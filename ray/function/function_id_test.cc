#ifdef RAY_FUNCTION_ID_TESTLIB
// This file is also built as a small shared library (see BUILD: libfunction_id_testlib.so) to
// test functions in modules loaded with dlopen.
extern "C" int ray_fid_testlib_mul3(int a, int b, int c) { return a * b * c; }
#else

#include "ray/function/function_id.h"

#include <dlfcn.h>
#include <spawn.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

extern char** environ;

// The functions under test. Add has external linkage; StaticMul and the lambda have none, so
// they are not in any dynamic symbol table.
int Add(int a, int b) { return a + b; }
static int StaticMul(int a, int b) { return a * b; }
constexpr auto kSubLambda = [](int a, int b) { return a - b; };
int global_data = 7;

namespace ray {
namespace {

using IntBinary = int (*)(int, int);

std::string SelfPath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

std::string TestLibPath() {
  std::vector<std::string> candidates;
  if (const char* srcdir = getenv("TEST_SRCDIR")) {
    const char* ws = getenv("TEST_WORKSPACE");
    candidates.push_back(std::string(srcdir) + "/" + (ws ? ws : "libray") +
                         "/ray/function/libfunction_id_testlib.so");
  }
  candidates.push_back(SelfPath() + ".runfiles/libray/ray/function/libfunction_id_testlib.so");
  for (const auto& c : candidates) {
    if (access(c.c_str(), R_OK) == 0) return c;
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Child mode:
// `<self> --function_id_child <kind> <build-id> <offset> <name> [dlopen path|-] args...`
// Resolves the function, calls it, prints "pid=P addr=A result=R" or "error=...".

// `<self> --function_id_first_calls`: times the first calls in a fresh process, where the
// module list and the executable's file (sections, then symbols) are read for the first time.
int FirstCallsMain() {
  auto t0 = std::chrono::steady_clock::now();
  auto d = DescribeFunction(FunctionAddress(&Add));
  auto t1 = std::chrono::steady_clock::now();
  auto d2 = DescribeFunction(FunctionAddress(&StaticMul));
  auto t2 = std::chrono::steady_clock::now();
  if (!d.ok() || !d2.ok()) return 3;
  auto ns = [](auto a, auto b) {
    return static_cast<long>(std::chrono::duration<double, std::nano>(b - a).count());
  };
  printf("first_describe_ns=%ld second_describe_ns=%ld\n", ns(t0, t1), ns(t1, t2));
  return 0;
}

int ChildMain(int argc, char** argv) {
  if (argc < 7) {
    printf("error=usage\n");
    return 2;
  }
  const std::string kind = argv[2];
  FunctionDescriptor d;
  d.module_build_id = argv[3];
  if (!absl::SimpleAtoi(argv[4], &d.offset)) {
    printf("error=bad offset\n");
    return 2;
  }
  d.name = argv[5];
  if (std::string(argv[6]) != "-" && dlopen(argv[6], RTLD_NOW | RTLD_LOCAL) == nullptr) {
    printf("error=dlopen: %s\n", dlerror());
    return 2;
  }
  std::vector<long> args;
  for (int i = 7; i < argc; ++i) args.push_back(strtol(argv[i], nullptr, 10));
  auto t0 = std::chrono::steady_clock::now();
  auto f = ResolveFunction(d);
  auto t1 = std::chrono::steady_clock::now();
  if (!f.ok()) {
    printf("error=%s\n", f.status().ToString().c_str());
    return 3;
  }
  long result = 0;
  if (kind == "ii" && args.size() == 2) {
    result = reinterpret_cast<int (*)(int, int)>(const_cast<void*>(*f))(args[0], args[1]);
  } else if (kind == "iii" && args.size() == 3) {
    result =
        reinterpret_cast<int (*)(int, int, int)>(const_cast<void*>(*f))(args[0], args[1], args[2]);
  } else if (kind == "l" && args.size() == 1) {
    result = reinterpret_cast<long (*)(long)>(const_cast<void*>(*f))(args[0]);
  } else {
    printf("error=bad kind or arity\n");
    return 2;
  }
  printf("pid=%d addr=%p result=%ld first_resolve_ns=%ld\n", getpid(), *f, result,
         static_cast<long>(std::chrono::duration<double, std::nano>(t1 - t0).count()));
  return 0;
}

struct ChildResult {
  int exit_code = -1;
  std::string out;
  int pid = 0;
  uintptr_t addr = 0;
  long result = 0;
  long first_resolve_ns = 0;
  std::string error;
};

// Runs this test binary again (a new exec: fresh address space, fresh ASLR) in child mode.
ChildResult RunChild(const std::string& kind, const FunctionDescriptor& d,
                     const std::string& dlopen_path, const std::vector<long>& args) {
  std::vector<std::string> argv_s = {"function_id_test_child",
                                     "--function_id_child",
                                     kind,
                                     d.module_build_id,
                                     std::to_string(d.offset),
                                     d.name,
                                     dlopen_path.empty() ? "-" : dlopen_path};
  for (long a : args) argv_s.push_back(std::to_string(a));
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);

  ChildResult r;
  int fds[2];
  if (pipe(fds) != 0) return r;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  pid_t pid;
  int rc = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return r;
  }
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) r.out.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::string line = r.out.substr(0, r.out.find('\n'));
  if (absl::StartsWith(line, "error=")) {
    r.error = line.substr(6);
  } else {
    for (absl::string_view kv : absl::StrSplit(line, ' ')) {
      if (absl::ConsumePrefix(&kv, "pid=")) (void)absl::SimpleAtoi(kv, &r.pid);
      if (absl::ConsumePrefix(&kv, "addr=0x")) (void)absl::SimpleHexAtoi(kv, &r.addr);
      if (absl::ConsumePrefix(&kv, "result=")) (void)absl::SimpleAtoi(kv, &r.result);
      if (absl::ConsumePrefix(&kv, "first_resolve_ns=")) {
        (void)absl::SimpleAtoi(kv, &r.first_resolve_ns);
      }
    }
    r.pid = r.pid ? r.pid : -1;
  }
  return r;
}

// Whether this executable is position-independent (ET_DYN); the nopie_test variant is not.
bool IsPie() {
  std::ifstream f("/proc/self/exe", std::ios::binary);
  char header[18] = {};
  f.read(header, sizeof header);
  return header[16] == 3;  // e_type == ET_DYN (little-endian)
}

bool AslrActive() {
  std::ifstream f("/proc/sys/kernel/randomize_va_space");
  int v = 0;
  f >> v;
  return v != 0 && (personality(0xffffffff) & ADDR_NO_RANDOMIZE) == 0;
}

// ---------------------------------------------------------------------------------------------

TEST(FunctionIdTest, ExecutableHasBuildId) {
  std::string id = MainExecutableBuildId();
  printf("main executable %s (%s) build-id %s\n", SelfPath().c_str(), IsPie() ? "PIE" : "not PIE",
         id.c_str());
  EXPECT_EQ(id.size(), 40u) << "expected a SHA-1 build-id; link with -Wl,--build-id";
}

TEST(FunctionIdTest, DescribesFreeFunction) {
  auto d = DescribeFunction(FunctionAddress(&Add));
  ASSERT_TRUE(d.ok()) << d.status();
  printf("%s\n", d->DebugString().c_str());
  EXPECT_EQ(d->module_build_id, MainExecutableBuildId());
  EXPECT_EQ(d->module_path, SelfPath());
  EXPECT_EQ(d->name, "Add(int, int)");
  EXPECT_GT(d->offset, 0u);
  EXPECT_EQ(DemangledName(FunctionAddress(&Add)), "Add(int, int)");
}

TEST(FunctionIdTest, DescribesStaticFunction) {
  auto d = DescribeFunction(FunctionAddress(&StaticMul));
  ASSERT_TRUE(d.ok()) << d.status();
  printf("%s\n", d->DebugString().c_str());
  EXPECT_EQ(d->module_build_id, MainExecutableBuildId());
  EXPECT_EQ(d->name, "StaticMul(int, int)");  // from .symtab: not a dynamic symbol
}

TEST(FunctionIdTest, DescribesCapturelessLambda) {
  IntBinary f = kSubLambda;
  auto d = DescribeFunction(FunctionAddress(f));
  ASSERT_TRUE(d.ok()) << d.status();
  printf("%s\n", d->DebugString().c_str());
  EXPECT_EQ(d->module_build_id, MainExecutableBuildId());
  EXPECT_TRUE(absl::StrContains(d->name, "lambda")) << d->name;
  auto back = ResolveFunction(*d);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(reinterpret_cast<IntBinary>(const_cast<void*>(*back))(10, 3), 7);
}

TEST(FunctionIdTest, DescribesSharedLibraryFunction) {
  long (*f)(long) = &labs;
  auto d = DescribeFunction(FunctionAddress(f));
  ASSERT_TRUE(d.ok()) << d.status();
  printf("%s\n", d->DebugString().c_str());
  if (!IsPie() && d->module_build_id == MainExecutableBuildId()) {
    // Non-PIE code takes the address of a library function as the executable's canonical PLT
    // entry (the same pointer everywhere in the process); dladdr names it from the undefined
    // dynamic symbol that carries the entry's address. A worker resolves and calls the stub.
    EXPECT_EQ(d->name, "labs");
    return;
  }
  EXPECT_TRUE(absl::StrContains(d->module_path, "libc.so")) << d->module_path;
  EXPECT_NE(d->module_build_id, MainExecutableBuildId());
  EXPECT_FALSE(d->module_build_id.empty());
  // labs and imaxabs are aliases (one address) in glibc: either name is right.
  EXPECT_TRUE(d->name == "labs" || d->name == "imaxabs") << d->name;
}

TEST(FunctionIdTest, NamesForAddressesInsideFunctions) {
  const char* p = static_cast<const char*>(FunctionAddress(&Add));
  EXPECT_EQ(DemangledName(p + 1), "Add(int, int)+0x1");
  int on_stack = 0;
  EXPECT_EQ(DemangledName(&on_stack), "");
}

TEST(FunctionIdTest, IdentityIsBuildIdAndOffset) {
  auto d = DescribeFunction(FunctionAddress(&Add));
  ASSERT_TRUE(d.ok()) << d.status();
  // Path and name are informative.
  FunctionDescriptor moved = *d;
  moved.module_path = "/elsewhere/bin";
  moved.name = "fn@0x1";
  EXPECT_EQ(moved, *d);
  EXPECT_EQ(absl::HashOf(moved), absl::HashOf(*d));
  moved.offset++;
  EXPECT_NE(moved, *d);
}

TEST(FunctionIdTest, ResolveInSameProcessGivesSameAddress) {
  IntBinary lambda = kSubLambda;
  long (*lib)(long) = &labs;
  for (const void* p : {FunctionAddress(&Add), FunctionAddress(&StaticMul), FunctionAddress(lambda),
                        FunctionAddress(lib)}) {
    auto d = DescribeFunction(p);
    ASSERT_TRUE(d.ok()) << d.status();
    auto back = ResolveFunction(*d);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, p) << d->DebugString();
  }
}

TEST(FunctionIdTest, UnknownBuildIdIsAClearError) {
  FunctionDescriptor d{"00112233445566778899aabbccddeeff00112233", "/x/y", 0x1139, "add"};
  auto r = ResolveFunction(d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  printf("%s\n", r.status().ToString().c_str());
  const auto msg = r.status().message();
  EXPECT_TRUE(absl::StrContains(msg, "function add"));
  EXPECT_TRUE(absl::StrContains(msg, "00112233445566778899aabbccddeeff00112233"));
  EXPECT_TRUE(absl::StrContains(msg, "/x/y"));
  EXPECT_TRUE(absl::StrContains(msg, "not loaded in this process"));
  EXPECT_TRUE(absl::StrContains(msg, "same binary"));
}

TEST(FunctionIdTest, OffsetOutsideExecutableSegmentsIsAnError) {
  auto d = DescribeFunction(FunctionAddress(&Add));
  ASSERT_TRUE(d.ok()) << d.status();
  for (uint64_t offset : {uint64_t{0}, uint64_t{1} << 40, ~uint64_t{0}}) {
    FunctionDescriptor bad = *d;
    bad.offset = offset;
    auto r = ResolveFunction(bad);
    ASSERT_FALSE(r.ok()) << offset;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kOutOfRange);
    EXPECT_TRUE(absl::StrContains(r.status().message(), "is not code")) << r.status();
    printf("offset 0x%lx: %s\n", static_cast<unsigned long>(offset), r.status().ToString().c_str());
  }
  // Data is not a function, and the heap is not in any module.
  auto data = DescribeFunction(&global_data);
  EXPECT_EQ(data.status().code(), absl::StatusCode::kFailedPrecondition) << data.status();
  // Read-only data: gold puts .rodata in the same R+X segment as .text; still not code.
  static const char kRodata[] = "not a function";
  auto ro = DescribeFunction(kRodata);
  EXPECT_EQ(ro.status().code(), absl::StatusCode::kFailedPrecondition) << ro.status();
  printf("%s\n", ro.status().ToString().c_str());
  auto heap = std::make_unique<int>(1);
  auto h = DescribeFunction(heap.get());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kNotFound) << h.status();
  printf("%s\n%s\n", data.status().ToString().c_str(), h.status().ToString().c_str());
}

TEST(FunctionIdTest, CachedDescriptorIsStableAndThreadSafe) {
  auto a = DescribeFunctionCached(FunctionAddress(&Add));
  ASSERT_TRUE(a.ok());
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        auto b = DescribeFunctionCached(FunctionAddress(&Add));
        if (!b.ok() || *b != *a) mismatches++;
        // Also cold lookups of new addresses racing with each other.
        if (i < 64) {
          auto c = DescribeFunctionCached(static_cast<const char*>(FunctionAddress(&labs)) + i);
          if (!c.ok()) mismatches++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// The real point: another process running the same binary finds and calls the function.
TEST(FunctionIdTest, ChildProcessResolvesAndCalls) {
  const bool aslr = AslrActive();
  printf("ASLR: randomize_va_space active=%d\n", aslr);
  struct Case {
    const char* what;
    const void* fn;
    std::string kind;
    std::vector<long> args;
    long expected;
  };
  IntBinary lambda = kSubLambda;
  long (*lib)(long) = &labs;
  std::vector<Case> cases = {
      {"free function", FunctionAddress(&Add), "ii", {20, 22}, 42},
      {"static function", FunctionAddress(&StaticMul), "ii", {6, 7}, 42},
      {"captureless lambda", FunctionAddress(lambda), "ii", {50, 8}, 42},
      {"libc function", FunctionAddress(lib), "l", {-42}, 42},
  };
  for (const Case& c : cases) {
    auto d = DescribeFunction(c.fn);
    ASSERT_TRUE(d.ok()) << d.status();
    ChildResult r = RunChild(c.kind, *d, "", c.args);
    printf(
        "%-18s parent pid %d addr %p | child pid %d addr 0x%lx result %ld (first resolve %ld ns)\n",
        c.what, getpid(), c.fn, r.pid, static_cast<unsigned long>(r.addr), r.result,
        r.first_resolve_ns);
    ASSERT_EQ(r.exit_code, 0) << c.what << ": " << r.out;
    EXPECT_EQ(r.result, c.expected) << c.what;
    EXPECT_NE(r.pid, getpid());
    // A non-PIE executable is always mapped at its link address; everything else moves.
    if (aslr && (IsPie() || d->module_build_id != MainExecutableBuildId())) {
      EXPECT_NE(r.addr, reinterpret_cast<uintptr_t>(c.fn)) << c.what;
    }
  }
}

TEST(FunctionIdTest, ChildNeedsTheSameModulesLoaded) {
  const std::string lib = TestLibPath();
  if (lib.empty()) GTEST_SKIP() << "libfunction_id_testlib.so not found in runfiles";
  void* h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  void* sym = dlsym(h, "ray_fid_testlib_mul3");
  ASSERT_NE(sym, nullptr);
  auto d = DescribeFunction(sym);
  ASSERT_TRUE(d.ok()) << d.status();
  printf("%s\n", d->DebugString().c_str());
  EXPECT_EQ(d->name, "ray_fid_testlib_mul3");
  EXPECT_NE(d->module_build_id, MainExecutableBuildId());
  EXPECT_TRUE(absl::EndsWith(d->module_path, "libfunction_id_testlib.so")) << d->module_path;

  ChildResult missing = RunChild("iii", *d, "", {2, 3, 7});
  EXPECT_EQ(missing.exit_code, 3) << missing.out;
  printf("child without the library: %s\n", missing.error.c_str());
  EXPECT_TRUE(absl::StrContains(missing.error, "NOT_FOUND")) << missing.error;
  EXPECT_TRUE(absl::StrContains(missing.error, "ray_fid_testlib_mul3")) << missing.error;
  EXPECT_TRUE(absl::StrContains(missing.error, "not loaded in this process")) << missing.error;

  ChildResult ok = RunChild("iii", *d, lib, {2, 3, 7});
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_EQ(ok.result, 42);
  // dlclose is deliberately skipped: the descriptor cache holds the address.
}

// ---------------------------------------------------------------------------------------------
// Cost on the submission path (printed, not asserted beyond a loose sanity bound).

TEST(FunctionIdTest, FirstCallsInAFreshProcess) {
  std::string self = SelfPath();
  std::string flag = "--function_id_first_calls";
  char* argv[] = {self.data(), flag.data(), nullptr};
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv, environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  EXPECT_TRUE(absl::StartsWith(out, "first_describe_ns=")) << out;
  printf("fresh process: %s", out.c_str());
}

template <typename F>
double NsPerCall(int n, F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) f(i);
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / n;
}

TEST(FunctionIdTest, Cost) {
  // Cold: addresses never described before (inside functions, so each is a new cache key).
  // Exe addresses are named from the file's .symtab; libc ones from dladdr.
  const char* exe_fn = static_cast<const char*>(FunctionAddress(&StaticMul));
  const char* libc_fn = static_cast<const char*>(FunctionAddress(&strtol));
  size_t sink = 0;
  const double cold_exe =
      NsPerCall(200, [&](int i) { sink += DescribeFunction(exe_fn + 1000 + i)->name.size(); });
  const double cold_libc =
      NsPerCall(200, [&](int i) { sink += DescribeFunction(libc_fn + 1000 + i)->name.size(); });

  const void* add = FunctionAddress(&Add);
  const double cached_ptr =
      NsPerCall(2000000, [&](int) { sink += (*DescribeFunctionCached(add))->offset; });
  const double cached_copy = NsPerCall(500000, [&](int) { sink += DescribeFunction(add)->offset; });
  // Alternating between 64 cached addresses (thread-local table, no single-entry luck).
  const double cached_64 = NsPerCall(
      2000000, [&](int i) { sink += (*DescribeFunctionCached(exe_fn + 1000 + (i & 63)))->offset; });
  FunctionDescriptor d = *DescribeFunction(add);
  const double resolve =
      NsPerCall(1000000, [&](int) { sink += reinterpret_cast<uintptr_t>(*ResolveFunction(d)); });
  const double demangled = NsPerCall(200, [&](int) { sink += DemangledName(add).size(); });
  printf(
      "DescribeFunction cold: %.0f ns (new addresses in the executable), %.0f ns (new addresses "
      "after &strtol: libc without symbols if PIE, else the executable)\n"
      "DescribeFunctionCached: %.1f ns (same address), %.1f ns (64 addresses); "
      "DescribeFunction (copy): %.1f ns\n"
      "ResolveFunction (cached) %.1f ns, "
      "DemangledName (uncached, .symtab) %.0f ns\n",
      cold_exe, cold_libc, cached_ptr, cached_64, cached_copy, resolve, demangled);
  EXPECT_NE(sink, 0u);
  EXPECT_LT(cached_ptr, 1000.0);
  EXPECT_LT(resolve, 5000.0);
}

}  // namespace
}  // namespace ray

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--function_id_child") {
    return ray::ChildMain(argc, argv);
  }
  if (argc >= 2 && std::string(argv[1]) == "--function_id_first_calls") {
    return ray::FirstCallsMain();
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

#endif  // RAY_FUNCTION_ID_TESTLIB
