// Workers that go wrong, through the fault-injection seam (ray/faults/fault_injection.h): a
// worker whose socket gets garbage or a broken frame, one that stalls, one that dies after
// storing its results. Real processes; the faults are armed before the node starts, so that
// every process of the node has them.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "ray/api.h"
#include "ray/core_worker/driver_runtime.h"
#include "ray/faults/fault_injection.h"

namespace ray::core {
namespace {

// Whether `pid` is a process that still runs (not gone, not a zombie).
bool Runs(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  size_t end_of_name = line.rfind(')');
  return end_of_name != std::string::npos && end_of_name + 2 < line.size() &&
         line[end_of_name + 2] != 'Z' && line[end_of_name + 2] != 'X';
}

// Waits (up to a minute) until no process has the pid `pid` any more: it ended and was reaped.
bool Reaped(pid_t pid) {
  for (int i = 0; i < 6000; ++i) {
    if (!std::filesystem::exists("/proc/" + std::to_string(pid))) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::vector<pid_t> ReadPids(const std::string& path) {
  std::vector<pid_t> pids;
  std::ifstream in(path);
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

// A task with a side effect: appends its pid to the file `path`. The first attempt then runs
// until it is killed; a later one returns how many attempts came before it, or -1 if one of them
// still runs.
int AppendPidThenRun(std::string path) {
  std::vector<pid_t> before = ReadPids(path);
  std::ofstream(path, std::ios::app) << getpid() << "\n" << std::flush;
  if (before.empty()) {
    while (true) pause();
  }
  for (pid_t pid : before) {
    if (Runs(pid)) return -1;
  }
  return static_cast<int>(before.size());
}

// A value larger than the inline limit (so it goes through the store), filled with the pid of
// the process that made it.
std::vector<int32_t> PidFilled(int count) { return std::vector<int32_t>(count, getpid()); }

// Puts a value through the store, filled with its pid; tells the scheduler of it (the wait's
// message carries the put); returns the pid the put holds.
int PutAndReturnThePutsPid(int count) {
  auto put = ray::Put(std::vector<int32_t>(count, getpid()));
  ray::Wait(std::vector<ray::ObjectRef<std::vector<int32_t>>>{put}, 1, absl::Seconds(60));
  return put.Get()[0];
}

int AddOne(int x) { return x + 1; }
int Pid(int) { return getpid(); }
int SleepThenPid(int seconds) {
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  return getpid();
}
std::vector<uint8_t> Bytes(int size) { return std::vector<uint8_t>(size, 7); }

class WorkerFaultsTest : public ::testing::Test {
 protected:
  // Arms `faults` (RAY_TESTING_FAULTS's syntax), then starts a node of one worker.
  void Start(const char* faults, absl::Duration stall_timeout = absl::Hours(1)) {
    ASSERT_TRUE(faults::ArmFromSpec(faults).ok());
    auto runtime = DriverRuntime::Start({.num_workers = 1,
                                         .object_store_memory = 256 << 20,
                                         .worker_stall_timeout = stall_timeout});
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = *std::move(runtime);
    SetCurrentRuntime(runtime_.get());
    ASSERT_EQ(runtime_->worker_pids().size(), 1u);
    first_worker_ = runtime_->worker_pids()[0];
  }
  void TearDown() override {
    SetCurrentRuntime(nullptr);
    runtime_.reset();
    faults::DisarmAll();
  }
  std::string TempPath(const std::string& name) {
    const char* dir = getenv("TEST_TMPDIR");
    std::string path =
        std::string(dir != nullptr ? dir : "/tmp") + "/" + name + "-" + std::to_string(getpid());
    std::filesystem::remove(path);
    return path;
  }

  std::unique_ptr<DriverRuntime> runtime_;
  pid_t first_worker_ = 0;
};

// Issue 10, point 5: the scheduler dropped a worker after garbage on its socket but left it
// running, so a retry ran beside it.
TEST_F(WorkerFaultsTest, AWorkerDroppedForGarbageIsKilledBeforeItsTaskIsRetried) {
  Start("worker.heartbeat=garbage@1");  // the first attempt's heartbeat, a second in
  std::string path = TempPath("attempts");
  auto attempts_before = ray::Remote(AppendPidThenRun)(path);
  EXPECT_EQ(attempts_before.Get(absl::Seconds(60)), 1);  // and not -1: the first still ran
  std::vector<pid_t> pids = ReadPids(path);
  ASSERT_EQ(pids.size(), 2u);  // the side effect: once per attempt allowed to run
  EXPECT_EQ(pids[0], first_worker_);
  EXPECT_NE(pids[1], first_worker_);
  EXPECT_TRUE(Reaped(pids[0]));  // killed, and reaped by the zygote
}

// Issue 10, point 5: the retry of a task whose first attempt stored its results failed with
// "object ... already exists".
TEST_F(WorkerFaultsTest, ARetryFindingItsResultStoredReturnsIt) {
  Start("worker.send_results=kill@1");  // dies once its results are sealed in the store
  std::vector<int32_t> value = ray::Remote(PidFilled)(1 << 20).Get(absl::Seconds(60));
  ASSERT_EQ(value.size(), size_t{1} << 20);
  EXPECT_EQ(value.front(), first_worker_);  // the first attempt's result stands
  EXPECT_EQ(value.back(), first_worker_);
  EXPECT_EQ(faults::Hits("worker.send_results"), 2);
  EXPECT_FALSE(Runs(first_worker_));
}

// The same for a put of the task, one the scheduler knew of when the first attempt was lost
// (so freed with that worker, and deleted from the store, before the fix).
TEST_F(WorkerFaultsTest, ARetryFindingItsPutStoredUsesIt) {
  Start("worker.send_results=kill@1");
  EXPECT_EQ(ray::Remote(PutAndReturnThePutsPid)(1 << 20).Get(absl::Seconds(60)), first_worker_);
  EXPECT_EQ(faults::Hits("worker.send_results"), 2);
}

// Issue 10, point 6: a frame that never ends on a worker's socket (a declared length that the
// bytes never reach, half a frame, or nothing more at all) stalled its tasks for ever.
class StalledWorkerTest : public WorkerFaultsTest,
                          public ::testing::WithParamInterface<const char*> {};

TEST_P(StalledWorkerTest, IsReplacedAndItsTaskRetried) {
  Start(GetParam(), absl::Seconds(2));
  EXPECT_NE(ray::Remote(Pid)(0).Get(absl::Seconds(60)), first_worker_);
  EXPECT_TRUE(Reaped(first_worker_));
  EXPECT_EQ(ray::Remote(AddOne)(41).Get(absl::Seconds(60)), 42);  // the node goes on
}

INSTANTIATE_TEST_SUITE_P(Frames, StalledWorkerTest,
                         ::testing::Values("worker.send_results=bogus_length@1",
                                           "worker.send_results=truncate@1",
                                           "worker.send_results=stall@1"));

TEST_F(WorkerFaultsTest, AStalledTaskOutOfRetriesFailsNamingTheStall) {
  Start("worker.send_results=bogus_length", absl::Seconds(2));
  try {
    ray::Remote(AddOne).Options({.max_retries = 1})(1).Get(absl::Seconds(60));
    FAIL() << "expected a WorkerCrashedError";
  } catch (const ray::WorkerCrashedError& e) {
    EXPECT_NE(std::string(e.what()).find("stalled"), std::string::npos) << e.what();
  }
  EXPECT_EQ(faults::Hits("worker.send_results"), 2);
}

// A task that runs longer than the stall timeout is not taken for stalled: its worker sends
// heartbeats.
TEST_F(WorkerFaultsTest, ABusyWorkerIsNotStalled) {
  Start("", absl::Seconds(2));
  EXPECT_EQ(ray::Remote(SleepThenPid)(4).Get(absl::Seconds(60)), first_worker_);
}

// Issue 10, point 6: a frame declaring more than any message may take stalled the worker too
// (the limit was 512 MiB); now it is refused at once, without waiting for the stall timeout.
TEST_F(WorkerFaultsTest, AnOversizedFrameIsRefusedAtOnce) {
  Start("worker.send_results=oversize@1");  // no stall timeout to speak of
  EXPECT_NE(ray::Remote(Pid)(0).Get(absl::Seconds(60)), first_worker_);
  EXPECT_TRUE(Reaped(first_worker_));
}

// The seam's store refusal: the task fails as with a full store, and the worker lives on.
TEST_F(WorkerFaultsTest, AStoreThatRefusesFailsTheTaskOnly) {
  Start("store.create=refuse@1");
  try {
    ray::Remote(Bytes)(1 << 20).Get(absl::Seconds(60));
    FAIL() << "expected a TaskError";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.exception_type(), "ray::ObjectStoreFullError") << e.what();
  }
  EXPECT_EQ(ray::Remote(Bytes)(1 << 20).Get(absl::Seconds(60)).size(), size_t{1} << 20);
  EXPECT_EQ(ray::Remote(Pid)(0).Get(absl::Seconds(60)), first_worker_);
}

// Issue 10, point 1: a result the scheduler holds as stored, whose seal never reached the store
// before its worker died (the store then aborts it). Before, a Get of it waited out its whole
// timeout (or for ever); now it is lost at once, with a typed error.
TEST_F(WorkerFaultsTest, AResultWhoseSealNeverArrivedIsLostWhenItsMakerDies) {
  Start("store.seal=stall@1");
  auto result = ray::Remote(PidFilled)(1 << 20);
  // Done as far as the scheduler knows (a wait does not read the store).
  auto ready = ray::Wait(std::vector<decltype(result)>{result}, 1, absl::Seconds(60));
  ASSERT_EQ(ready.ready.size(), 1u);
  ASSERT_EQ(kill(first_worker_, SIGKILL), 0);
  EXPECT_THROW(result.Get(absl::Seconds(60)), ray::ObjectLostError);
  EXPECT_EQ(ray::Remote(AddOne)(1).Get(absl::Seconds(60)), 2);  // the node goes on
}

// A retry whose lost attempt left its result created and never sealed: the retry waits for the
// store to drop it (told at once when it does), then stores its own.
TEST_F(WorkerFaultsTest, ARetryReplacesAResultItsLostAttemptLeftUnsealed) {
  Start("store.seal=stall@1;worker.send_results=kill@1");
  std::vector<int32_t> value = ray::Remote(PidFilled)(1 << 20).Get(absl::Seconds(60));
  ASSERT_EQ(value.size(), size_t{1} << 20);
  EXPECT_NE(value.front(), first_worker_);  // the retry's, sealed
  EXPECT_EQ(faults::Hits("store.seal"), 2);
}

}  // namespace
}  // namespace ray::core
