// The public API on the real multi-process runtime: tasks run in worker processes.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <numeric>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "ray/api.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/driver_runtime.h"
#include "ray/core_worker/runtime_gate.h"
#include "ray/rpc/worker_messages.h"

namespace {

int add(int a, int b) { return a + b; }
int pid_of(int) { return getpid(); }
int sleep_for(int seconds) {
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  return 0;
}
int sub_experiment(int i, int j) { return i + j; }
int run_experiment(int i) {
  std::vector<ray::ObjectRef<int>> subs;
  for (int j = 0; j < 10; ++j) subs.push_back(ray::Remote(sub_experiment)(i, j));
  int sum = 0;
  for (int v : ray::Get(subs)) sum += v;
  return sum;
}
int thrower(int) { throw std::domain_error("deep failure"); }
int calls_thrower(int x) { return ray::Remote(thrower)(x).Get() + 1; }
int sum_all(std::vector<int> values) { return std::accumulate(values.begin(), values.end(), 0); }
int64_t sum_bytes(std::vector<uint8_t> bytes) {
  return std::accumulate(bytes.begin(), bytes.end(), int64_t{0});
}
// Kills its own worker the first time (a marker file remembers), succeeds when retried.
int die_once(std::string marker) {
  if (!std::ifstream(marker).good()) {
    std::ofstream(marker) << "ran";
    kill(getpid(), SIGKILL);
  }
  return 7;
}
// Reads one byte from `fd`, a pipe the test made before ray::Init (workers inherit it).
int read_byte(int fd) {
  char byte = 0;
  return read(fd, &byte, 1) == 1 ? byte : -1;
}
std::vector<double> read_byte_then_vector(int fd) { return std::vector<double>(4, read_byte(fd)); }
// Kills its own worker the first `times` runs (a file in `dir` counts them), then returns them.
int die_times(std::string dir, int times) {
  int runs = 0;
  while (std::ifstream(dir + "/run" + std::to_string(runs)).good()) ++runs;
  if (runs < times) {
    std::ofstream(dir + "/run" + std::to_string(runs)) << "ran";
    kill(getpid(), SIGKILL);
  }
  return runs;
}
int always_die(int) {
  kill(getpid(), SIGKILL);
  return 0;
}

// Returns once the test writes a byte into the pipe whose read end is `fd` (workers are forks
// of the driver made at Init, so they have the pipes made before it).
int block_on(int fd) {
  char byte;
  return static_cast<int>(read(fd, &byte, 1));
}

// Waits (at most 50 ms) for the result of a task blocked on the pipe `fd`; true if it timed out.
bool get_times_out(int fd) {
  try {
    ray::Remote(block_on)(fd).Get(absl::Milliseconds(50));
    return false;
  } catch (const ray::GetTimeoutError&) {
    return true;
  }
}
// Writes its pid into the pipe `pid_fd`, then gets (twice in one list) the result of a task
// blocked on the pipe `gate_fd`.
int report_then_get(int pid_fd, int gate_fd) {
  pid_t pid = getpid();
  if (write(pid_fd, &pid, sizeof(pid)) != sizeof(pid)) return -1;
  auto blocked = ray::Remote(block_on)(gate_fd);
  std::vector<ray::ObjectRef<int>> twice = {blocked, blocked};
  return ray::Get(twice)[0];
}

// Puts made in one worker: by a thread a task starts, while the worker runs tasks that put too.
// The last task of the test counts the IDs that two puts share.
std::mutex puts_mu;
std::vector<ray::ObjectRef<int>> puts_made;
std::thread stray_putter;
void note_put(ray::ObjectRef<int> put) {
  std::lock_guard lock(puts_mu);
  puts_made.push_back(std::move(put));
}
int start_stray_puts(int n) {
  stray_putter = std::thread([n] {
    for (int i = 0; i < n; ++i) note_put(ray::Put(i));
  });
  return 0;
}
int put_in_task(int i) {
  note_put(ray::Put(i));
  return 0;
}
int puts_sharing_an_id(int) {
  stray_putter.join();
  absl::flat_hash_set<ray::ObjectID> ids;
  for (const auto& put : puts_made) ids.insert(put.ID());
  return static_cast<int>(puts_made.size() - ids.size());
}

class TaskTest : public ::testing::Test {
 protected:
  void TearDown() override { ray::Shutdown(); }
};

TEST_F(TaskTest, WorkersAreOtherProcesses) {
  ray::Init({.num_workers = 2});
  EXPECT_EQ(ray::Remote(add)(1, 2).Get(), 3);
  EXPECT_NE(ray::Remote(pid_of)(0).Get(), getpid());
}

TEST_F(TaskTest, TenSleepsOnTenWorkersRunInParallel) {
  ray::Init({.num_workers = 10});
  auto start = std::chrono::steady_clock::now();
  std::vector<ray::ObjectRef<int>> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(ray::Remote(sleep_for)(2));
  EXPECT_EQ(ray::Get(ids), std::vector<int>(10, 0));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0) << "ten 2 s tasks on ten workers took " << seconds << " s";
}

TEST_F(TaskTest, NestedTasksWithOneWorker) {
  ray::Init({.num_workers = 1});
  std::vector<ray::ObjectRef<int>> results;
  for (int i = 0; i < 5; ++i) results.push_back(ray::Remote(run_experiment)(i));
  EXPECT_EQ(ray::Get(results), (std::vector<int>{45, 55, 65, 75, 85}));
}

TEST_F(TaskTest, ChainOfTenThousandDependentTasks) {
  ray::Init({.num_workers = 2});
  ray::ObjectRef<int> x = ray::Put(0);
  for (int i = 0; i < 10000; ++i) x = ray::Remote(add)(x, 1);
  EXPECT_EQ(x.Get(), 10000);
}

TEST_F(TaskTest, HundredThousandSmallTasks) {
  ray::Init({.num_workers = 2});
  std::vector<ray::ObjectRef<int>> ids;
  ids.reserve(100000);
  for (int i = 0; i < 100000; ++i) ids.push_back(ray::Remote(add)(i, 1));
  std::vector<int> values = ray::Get(ids);
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(values[i], i + 1);
}

TEST_F(TaskTest, FanInOfAThousandRefs) {
  ray::Init({.num_workers = 2});
  std::vector<ray::ObjectRef<int>> parts;
  for (int i = 0; i < 1000; ++i) parts.push_back(ray::Remote(add)(i, 0));
  // A std::vector<ObjectRef<int>> for a std::vector<int> parameter: the task runs once all
  // 1,000 exist, and gets their values.
  EXPECT_EQ(ray::Remote(sum_all)(parts).Get(), 999 * 1000 / 2);
}

TEST_F(TaskTest, LargeArgumentsGoThroughTheStore) {
  ray::Init({.num_workers = 2});
  std::vector<uint8_t> bytes(8 << 20, 1);
  EXPECT_EQ(ray::Remote(sum_bytes)(bytes).Get(), int64_t{8} << 20);
  auto ref = ray::Put(bytes);
  EXPECT_EQ(ray::Remote(sum_bytes)(ref).Get(), int64_t{8} << 20);
}

TEST_F(TaskTest, ExceptionsCrossTwoLevelsOfTasks) {
  ray::Init({.num_workers = 2});
  auto result = ray::Remote(calls_thrower)(1);
  try {
    result.Get();
    FAIL() << "expected a TaskError";
  } catch (const ray::TaskError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("thrower"), std::string::npos) << what;
    EXPECT_NE(what.find("deep failure"), std::string::npos) << what;
    EXPECT_NE(what.find("std::domain_error"), std::string::npos) << what;
  }
}

TEST_F(TaskTest, KilledWorkerTaskIsRetried) {
  ray::Init({.num_workers = 2});
  char dir[] = "/tmp/ray-retry-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string marker = std::string(dir) + "/marker";
  EXPECT_EQ(ray::Remote(die_once)(marker).Get(), 7);
  std::remove(marker.c_str());
  rmdir(dir);
}

TEST_F(TaskTest, MaxRetriesMinusOneRetriesWithoutLimit) {
  ray::Init({.num_workers = 2});
  char dir[] = "/tmp/ray-retry-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  // Five crashes: more than the default max_retries (3).
  EXPECT_EQ(ray::Remote(die_times).Options({.max_retries = -1})(std::string(dir), 5).Get(), 5);
  std::filesystem::remove_all(dir);
}

TEST_F(TaskTest, WorkerCrashedErrorAfterRetries) {
  ray::Init({.num_workers = 2});
  auto doomed = ray::Remote(always_die).Options({.max_retries = 1})(0);
  EXPECT_THROW(doomed.Get(), ray::WorkerCrashedError);
  EXPECT_EQ(ray::Remote(add)(2, 2).Get(), 4);  // the node still works
}

TEST_F(TaskTest, WaitReturnsReadyAndNotReady) {
  ray::Init({.num_workers = 2});
  std::vector<ray::ObjectRef<int>> refs = {ray::Remote(add)(1, 1), ray::Remote(sleep_for)(3)};
  auto [ready, not_ready] = ray::Wait(refs, 1, absl::Seconds(2));
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].Get(), 2);
  EXPECT_EQ(not_ready.size(), 1u);
}

TEST_F(TaskTest, ChronoTimeoutsEndGetsAndWaits) {
  using namespace std::chrono_literals;
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  ray::Init({.num_workers = 2});
  auto number = ray::Remote(read_byte)(pipe_fds[0]);  // both wait until the test writes
  auto vector = ray::Remote(read_byte_then_vector)(pipe_fds[0]);
  EXPECT_THROW(number.Get(20ms), ray::GetTimeoutError);
  EXPECT_THROW(ray::Get(number, std::chrono::duration<double>(0.02)), ray::GetTimeoutError);
  EXPECT_THROW(ray::Get(std::vector{number}, 20ms), ray::GetTimeoutError);
  EXPECT_THROW(ray::GetView(vector, 20000us), ray::GetTimeoutError);
  auto [ready, not_ready] = ray::Wait(std::vector{number}, 1, 20ms);
  EXPECT_TRUE(ready.empty());
  ASSERT_EQ(write(pipe_fds[1], "xx", 2), 2);
  EXPECT_EQ(number.Get(std::chrono::minutes(1)), 'x');
  EXPECT_EQ(ray::GetView(vector, std::chrono::minutes(1))[0], 'x');
  EXPECT_EQ(ray::Wait(std::vector{number}, 1, std::chrono::minutes(1)).ready.size(), 1u);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}

TEST_F(TaskTest, UnknownIdsAndWrongTypesAreClearErrors) {
  ray::Init({.num_workers = 1});
  ray::ObjectRef<int> unknown(ray::ObjectID::ForReturn(ray::TaskID::FromRandom(), 1));
  try {  // no such object: an error at once, not a wait
    unknown.Get(absl::Seconds(30));
    FAIL() << "expected a RayError";
  } catch (const ray::RayError& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  auto number = ray::Put(42);
  ray::ObjectRef<std::string> wrong(number.ID());
  try {
    wrong.Get();
    FAIL() << "expected a RayError";
  } catch (const ray::RayError& e) {
    EXPECT_NE(std::string(e.what()).find("int"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ray::Remote(add)(number, 1).Get(), 43);  // the node is fine
}

std::vector<uint8_t> big_bytes(int n) { return std::vector<uint8_t>(n, 7); }

// The unix stream sockets of this process, and whether each one's peer is unnamed (the
// scheduler's socketpair; the store's socket has a path).
std::vector<std::pair<int, bool>> unix_stream_sockets() {
  std::vector<std::pair<int, bool>> found;
  for (int fd = 3; fd < 1024; ++fd) {
    int type = 0;
    socklen_t size = sizeof(type);
    sockaddr_storage peer{};
    socklen_t peer_size = sizeof(peer);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 || type != SOCK_STREAM) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0 ||
        peer.ss_family != AF_UNIX) {
      continue;
    }
    found.emplace_back(fd, peer_size <= sizeof(sa_family_t));
  }
  return found;
}

// Writes garbage into every unix stream socket of its worker: the one to the scheduler and the
// one to the store.
int garbage_to_sockets(int) {
  const char junk[] = "\xff\xff\xff\x7f not a Cap'n Proto frame \x01\x02\x03";
  for (auto [fd, unnamed_peer] : unix_stream_sockets()) (void)!write(fd, junk, sizeof(junk));
  return 0;
}

TEST_F(TaskTest, GarbageFromAWorkerCostsThatWorkerOnly) {
  ray::Init({.num_workers = 2});
  auto garbage = ray::Remote(garbage_to_sockets).Options({.max_retries = 0})(0);
  EXPECT_THROW(garbage.Get(absl::Seconds(60)), ray::WorkerCrashedError);
  // The scheduler dropped that worker, the store its connection; the rest goes on.
  std::vector<ray::ObjectRef<int>> sums;
  for (int i = 0; i < 20; ++i) sums.push_back(ray::Remote(add)(i, 1));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sums[i].Get(absl::Seconds(60)), i + 1);
  auto big = ray::Put(std::vector<uint8_t>(1 << 20, 3));
  EXPECT_EQ(ray::Remote(sum_bytes)(big).Get(absl::Seconds(60)), int64_t{3} << 20);
}

// Sends the scheduler `count` gets of the object `id` (binary), each with a request ID of its
// own, framed as its worker frames them, on that worker's socket to the scheduler (the unix stream
// socket whose peer has no name: the store's has one). How many the socket took.
int flood_with_gets(std::string id, int count) {
  ray::ObjectID object;
  if (!ray::ObjectID::FromBinary(id, &object)) return -1;
  int scheduler = -1;
  for (auto [fd, unnamed_peer] : unix_stream_sockets()) {
    if (unnamed_peer) scheduler = fd;
  }
  int sent = 0;
  for (; sent < count; ++sent) {
    capnp::MallocMessageBuilder message;
    ray::core::WriteGetRequest(message.initRoot<ray::core::rpc::FromWorker>(), 1'000'000 + sent,
                               {&object, 1}, /*timeout_ms=*/-1);
    kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
    kj::ArrayPtr<const kj::byte> bytes = words.asBytes();
    for (size_t done = 0; done < bytes.size();) {
      ssize_t n = send(scheduler, bytes.begin() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) {
        pollfd writable{.fd = scheduler, .events = POLLOUT};
        poll(&writable, 1, 1000);
        continue;
      }
      if (n <= 0) return sent;  // the scheduler closed it
      done += n;
    }
  }
  return sent;
}

TEST_F(TaskTest, AWorkerWithTooManyRequestsInFlightIsDroppedAlone) {
  int gate[2];
  ASSERT_EQ(pipe(gate), 0);
  ray::Init({.num_workers = 2});
  auto blocked = ray::Remote(block_on)(gate[0]);  // the object the gets wait for
  auto flood = ray::Remote(flood_with_gets)
                   .Options({.max_retries = 0})(std::string(blocked.ID().Binary()), 20000);
  try {
    flood.Get(absl::Seconds(120));
    FAIL() << "the scheduler took 20,000 gets in flight from one worker";
  } catch (const ray::WorkerCrashedError& e) {
    EXPECT_NE(std::string(e.what()).find("gets and waits that wait at once"), std::string::npos)
        << e.what();
  }
  // The rest goes on, the object the flood asked for among it.
  EXPECT_EQ(ray::Remote(add)(1, 2).Get(absl::Seconds(60)), 3);
  ASSERT_EQ(write(gate[1], "x", 1), 1);
  EXPECT_EQ(blocked.Get(absl::Seconds(60)), 1);
  close(gate[0]);
  close(gate[1]);
}

TEST_F(TaskTest, ObjectsLargerThanTheStoreAreObjectStoreFullErrors) {
  ray::Init({.num_workers = 1, .object_store_memory = 32 << 20});
  EXPECT_THROW(ray::Put(std::vector<uint8_t>(64 << 20, 1)), ray::ObjectStoreFullError);
  try {
    ray::Remote(big_bytes)(64 << 20).Get();
    FAIL() << "expected a TaskError";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.exception_type(), "ray::ObjectStoreFullError");
    EXPECT_NE(e.function_name().find("big_bytes"), std::string::npos) << e.function_name();
  }
  EXPECT_EQ(ray::Remote(big_bytes)(10).Get().size(), 10u);  // the worker lives on
}

TEST_F(TaskTest, UnreachableObjectsAreFreedFromTheStore) {
  ray::Init({.num_workers = 2});
  auto* gate = dynamic_cast<ray::core::RuntimeGate*>(ray::core::CurrentRuntime());
  ASSERT_NE(gate, nullptr);
  auto* driver = dynamic_cast<ray::core::DriverRuntime*>(gate->runtime());
  ASSERT_NE(driver, nullptr);
  auto used = [&] { return driver->store_stats()->used; };
  uint64_t before = used();
  {
    auto put = ray::Put(std::vector<uint8_t>(4 << 20, 1));  // in the store: > 64 KiB
    auto made = ray::Remote(big_bytes)(4 << 20);            // a large result, also there
    EXPECT_EQ(ray::Remote(sum_bytes)(made).Get(), int64_t{7} * (4 << 20));
    EXPECT_GE(used(), before + (8 << 20));
  }
  // No ObjectRef left, no task reading them: the store lets them go (deletes are sent by the
  // scheduler thread, so allow it a moment).
  for (int i = 0; i < 500 && used() > before; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(used(), before);
}

// A finished task's result is not held back until the task queued behind it on the same
// worker ends. `first` holds the only worker while `quick` and `long_one` queue behind it, so
// that the worker receives both at once; `long_one` then blocks until quick's Get returned.
TEST_F(TaskTest, AResultIsNotHeldBehindTheNextTaskOnItsWorker) {
  int first_gate[2], long_gate[2];
  ASSERT_EQ(pipe(first_gate), 0);
  ASSERT_EQ(pipe(long_gate), 0);
  ray::Init({.num_workers = 1, .num_cpus = 1});
  auto first = ray::Remote(block_on)(first_gate[0]);
  auto quick = ray::Remote(add)(1, 2);
  auto long_one = ray::Remote(block_on)(long_gate[0]);
  ASSERT_EQ(write(first_gate[1], "x", 1), 1);
  EXPECT_EQ(first.Get(absl::Seconds(60)), 1);
  // Before the fix, the wait timed out with nothing ready and the get threw.
  auto [ready, not_ready] = ray::Wait(std::vector{quick, long_one}, 1, absl::Seconds(60));
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0], quick);
  EXPECT_EQ(quick.Get(absl::Seconds(60)), 3);
  ASSERT_EQ(write(long_gate[1], "x", 1), 1);
  EXPECT_EQ(long_one.Get(absl::Seconds(60)), 1);
  for (int fd : {first_gate[0], first_gate[1], long_gate[0], long_gate[1]}) close(fd);
}

// Gets and waits that end before their objects exist (timeouts, dead workers) leave nothing
// behind that the objects' completion would touch later (AddressSanitizer runs see to it), and
// a list may name an object twice.
TEST_F(TaskTest, PutsFromAThreadATaskStartedNeverShareAnIdWithATasksPuts) {
  // A put is named by its task and a count: the task thread changes both between tasks while
  // the stray thread reads them. A put that paired one task's ID with the other's count took
  // the ID of an earlier put (and a retry's rule then kept the earlier value).
  ray::Init({.num_workers = 1, .num_cpus = 1});
  constexpr int kPuts = 20000;
  ray::Remote(start_stray_puts)(kPuts).Get();
  std::vector<ray::ObjectRef<int>> tasks;
  for (int i = 0; i < kPuts; ++i) tasks.push_back(ray::Remote(put_in_task)(i));
  ray::Get(tasks);
  EXPECT_EQ(ray::Remote(puts_sharing_an_id)(0).Get(), 0);
}

TEST_F(TaskTest, WaitsThatEndEarlyLeaveNothingBehind) {
  int gate[2], pids[2];  // made before Init: the workers have them
  ASSERT_EQ(pipe(gate), 0);
  ASSERT_EQ(pipe(pids), 0);
  ray::Init({.num_workers = 3, .num_cpus = 3});
  auto blocked = ray::Remote(block_on)(gate[0]);
  // The driver: a get with a duplicate and a wait, both timing out.
  std::vector<ray::ObjectRef<int>> twice = {blocked, blocked};
  EXPECT_THROW(ray::Get(twice, absl::Milliseconds(20)), ray::GetTimeoutError);
  auto [ready, not_ready] = ray::Wait(std::vector{blocked}, 1, absl::Milliseconds(20));
  EXPECT_TRUE(ready.empty());
  // A worker: a get that times out inside a task.
  EXPECT_TRUE(ray::Remote(get_times_out)(gate[0]).Get(absl::Seconds(60)));
  // A worker killed while its task waits for an object (twice in one get).
  auto killed = ray::Remote(report_then_get).Options({.max_retries = 0})(pids[1], gate[0]);
  pid_t worker = 0;
  pollfd readable{pids[0], POLLIN, 0};
  ASSERT_EQ(poll(&readable, 1, 60000), 1);
  ASSERT_EQ(read(pids[0], &worker, sizeof(worker)), static_cast<ssize_t>(sizeof(worker)));
  ASSERT_EQ(kill(worker, SIGKILL), 0);
  EXPECT_THROW(killed.Get(absl::Seconds(60)), ray::WorkerCrashedError);
  // One byte for each task blocked on the gate: `blocked` and those of get_times_out and
  // report_then_get. Their results come after the gets and waits on them ended.
  ASSERT_EQ(write(gate[1], "xxx", 3), 3);
  EXPECT_EQ(ray::Get(twice, absl::Seconds(60)), (std::vector<int>{1, 1}));
  EXPECT_EQ(ray::Remote(add)(1, 2).Get(absl::Seconds(60)), 3);
  for (int fd : {gate[0], gate[1], pids[0], pids[1]}) close(fd);
}

// The node's store or zygote dying is one error that names the process, raised by the gets
// waiting then and by every call after, not a hang or a misleading message.
TEST_F(TaskTest, AStoreOrZygoteThatDiesIsANodeErrorNamingIt) {
  for (bool zygote : {false, true}) {
    int gate[2];  // never written: the task waits until the node dies
    ASSERT_EQ(pipe(gate), 0);
    ray::Init({.num_workers = 1});
    auto* runtime = dynamic_cast<ray::core::RuntimeGate*>(ray::core::CurrentRuntime());
    ASSERT_NE(runtime, nullptr);
    auto* driver = dynamic_cast<ray::core::DriverRuntime*>(runtime->runtime());
    ASSERT_NE(driver, nullptr);
    pid_t victim = zygote ? driver->zygote_pid() : driver->store_pid();
    std::string expected = absl::StrCat(zygote ? "the node's zygote" : "the node's object store",
                                        " (which starts workers)", " (pid ", victim, ") died");
    if (!zygote) expected = absl::StrCat("the node's object store (pid ", victim, ") died");
    auto blocked = ray::Remote(block_on)(gate[0]);
    ASSERT_EQ(kill(victim, SIGKILL), 0);
    try {
      blocked.Get(absl::Seconds(60));
      ADD_FAILURE() << "the get returned";
    } catch (const ray::RayError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
    try {
      ray::Remote(add)(1, 2);
      ADD_FAILURE() << "a submit after the node died was accepted";
    } catch (const ray::RayError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
    ray::Shutdown();
    close(gate[0]);
    close(gate[1]);
  }
}

}  // namespace
