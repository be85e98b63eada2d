// Every InitOptions field reaches the session and takes effect (the Python side:
// tests/python/test_init_options.py). Real processes: each test starts its own node.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "ray/api.h"
#include "ray/core_worker/session.h"
#include "ray/faults/fault_injection.h"

namespace {

int pid_of(int) { return getpid(); }
// The pids of this task's worker and of the worker that runs the task it waits for.
std::pair<int, int> pids_nested(int x) { return {getpid(), ray::Remote(pid_of)(x).Get()}; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A new folder under $TMPDIR or /tmp (short: a session folder's socket path must fit a unix
// socket address, and Bazel's TEST_TMPDIR is long).
std::string TestDir(const std::string& name) {
  std::string dir =
      std::string(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") + "/" + name + "-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return "";
  return dir;
}

class InitOptionsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    ray::Shutdown();
    ray::faults::DisarmAll();
  }
};

TEST_F(InitOptionsTest, MaxWorkersOneRunsANestedTaskInTheBlockedWorker) {
  ray::Init({.num_workers = 1, .num_cpus = 2, .max_workers = 1});
  auto [outer, inner] = ray::Remote(pids_nested)(1).Get();
  EXPECT_EQ(outer, inner);  // no second worker: the inner task ran inside the outer's wait
  EXPECT_EQ(ray::core::SessionNode()->worker_pids().size(), 1u);
}

TEST_F(InitOptionsTest, IdleWorkerTimeoutEndsExtraWorkers) {
  ray::Init({.num_workers = 1, .num_cpus = 2, .idle_worker_timeout = absl::Milliseconds(200)});
  auto [outer, inner] = ray::Remote(pids_nested)(1).Get();
  ASSERT_NE(outer, inner);  // the blocked worker's CPU went to a second worker
  size_t workers = 0;
  for (int i = 0; i < 50; ++i) {  // 5 s, well under the default 10 s
    workers = ray::core::SessionNode()->worker_pids().size();
    if (workers == 1) break;
    usleep(100 * 1000);
  }
  EXPECT_EQ(workers, 1u);
}

TEST_F(InitOptionsTest, WorkerStallTimeoutKillsAStalledWorker) {
  // Each worker's first batch of results never leaves it (a stalled socket).
  ASSERT_TRUE(ray::faults::ArmFromSpec("worker.send_results=stall@1").ok());
  ray::Init({.num_workers = 1, .worker_stall_timeout = absl::Seconds(2)});
  auto ref = ray::Remote(pid_of).Options({.max_retries = 0})(1);
  try {
    ref.Get(absl::Seconds(20));  // the default timeout (30 s) would end in GetTimeoutError
    ADD_FAILURE() << "the task returned";
  } catch (const ray::WorkerCrashedError& e) {
    EXPECT_NE(std::string(e.what()).find("stalled: it sent nothing for 2s"), std::string::npos)
        << e.what();
  }
}

TEST_F(InitOptionsTest, RecordTaskGraphFalseRecordsNothing) {
  ray::Init({.num_workers = 1, .record_task_graph = false});
  ASSERT_GT(ray::Remote(pid_of)(1).Get(), 0);  // a task that would have been recorded
  EXPECT_THROW(ray::Timeline(TestDir("no_graph") + "/timeline.json"), ray::RayError);
}

TEST_F(InitOptionsTest, MaxRecordedTasksCountsTheRest) {
  ray::Init({.num_workers = 1, .max_recorded_tasks = 3});
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 10; ++i) refs.push_back(ray::Remote(pid_of)(i));
  ray::Get(refs);
  std::string dot = TestDir("max_recorded") + "/graph.dot";
  ray::VisualizeComputationGraph(dot);
  EXPECT_NE(ReadFile(dot).find("past the recorder's limit: 7 more tasks"), std::string::npos);
}

TEST_F(InitOptionsTest, SessionDirRootAndWorkerTitle) {
  std::string root = TestDir("ray-root");
  ASSERT_FALSE(root.empty());
  ray::Init({.num_workers = 1, .session_dir_root = root, .worker_command_line_title = true});
  int pid = ray::Remote(pid_of)(1).Get();
  EXPECT_EQ(ray::core::SessionNode()->session_dir().rfind(root + "/ray-session-", 0), 0u);
  std::string cmdline = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  EXPECT_EQ(cmdline.rfind("ray::worker", 0), 0u) << cmdline;
  ray::Shutdown();  // removes the session folder
  std::filesystem::remove(root);
}

TEST_F(InitOptionsTest, OptionsOutOfLimitsThrowWithTheCheckMessage) {
  try {
    ray::Init({.worker_stall_timeout = absl::Seconds(1)});
    ADD_FAILURE() << "Init accepted a 1 s stall timeout";
  } catch (const ray::RayError& e) {
    EXPECT_STREQ(e.what(),
                 "ray::Init: worker_stall_timeout = 1s: at least 2s (a worker that holds tasks "
                 "sends a heartbeat every second)");
  }
  EXPECT_FALSE(ray::IsInitialized());
}

// A long $TMPDIR (where the session folder goes by default) is a clear error at Init; before, the
// store failed to bind its socket and Init said only "the object store did not start".
TEST_F(InitOptionsTest, ATmpdirTooLongForTheStoresSocketIsAClearError) {
  const char* old = getenv("TMPDIR");
  std::string saved = old != nullptr ? old : "";
  std::string long_dir = "/tmp/" + std::string(100, 'd');
  setenv("TMPDIR", long_dir.c_str(), 1);
  try {
    ray::Init({.num_workers = 1});
    ADD_FAILURE() << "Init accepted a " << long_dir.size() << "-byte TMPDIR";
  } catch (const ray::RayError& e) {
    EXPECT_NE(std::string(e.what()).find("$TMPDIR = " + long_dir + " is 105 bytes"),
              std::string::npos)
        << e.what();
  }
  if (old != nullptr) {
    setenv("TMPDIR", saved.c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
  EXPECT_FALSE(ray::IsInitialized());
}

}  // namespace
