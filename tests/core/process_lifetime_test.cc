// Every process a driver starts dies with it: on Shutdown, and when the driver is killed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "ray/core_worker/driver_runtime.h"

namespace ray::core {
namespace {

bool Alive(pid_t pid) { return kill(pid, 0) == 0; }

// Polls (bounded) until none of `pids` is alive.
bool AllGone(const std::vector<pid_t>& pids, absl::Duration limit = absl::Seconds(10)) {
  absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    bool any = false;
    for (pid_t pid : pids) any |= Alive(pid);
    if (!any) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

std::vector<pid_t> SessionPids(DriverRuntime& runtime) {
  std::vector<pid_t> pids = runtime.worker_pids();
  for (int i = 0; i < 200 && pids.size() < 3; ++i) {  // workers report their pid on start
    absl::SleepFor(absl::Milliseconds(5));
    pids = runtime.worker_pids();
  }
  pids.push_back(runtime.store_pid());
  pids.push_back(runtime.zygote_pid());
  return pids;
}

TEST(ProcessLifetimeTest, ShutdownStopsEveryProcessAndRemovesTheSession) {
  auto runtime = DriverRuntime::Start({.num_workers = 3, .object_store_memory = 64 << 20});
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  std::vector<pid_t> pids = SessionPids(**runtime);
  ASSERT_EQ(pids.size(), 5u);
  for (pid_t pid : pids) EXPECT_NE(pid, getpid());
  std::string session = (*runtime)->session_dir();
  EXPECT_TRUE(std::filesystem::exists(session + "/store.sock"));
  EXPECT_EQ(std::filesystem::status(session).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  runtime->reset();
  EXPECT_TRUE(AllGone(pids, absl::Seconds(1))) << "Shutdown returned before its processes ended";
  EXPECT_FALSE(std::filesystem::exists(session));
}

TEST(ProcessLifetimeTest, NoProcessOutlivesAKilledDriver) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  pid_t driver = fork();
  if (driver == 0) {
    close(report[0]);
    auto runtime = DriverRuntime::Start({.num_workers = 3, .object_store_memory = 64 << 20});
    if (!runtime.ok()) _exit(1);
    std::vector<pid_t> pids = SessionPids(**runtime);
    (void)!write(report[1], pids.data(), pids.size() * sizeof(pid_t));
    const std::string& session = (*runtime)->session_dir();
    (void)!write(report[1], session.data(), session.size());
    close(report[1]);
    pause();  // until killed
    _exit(0);
  }
  close(report[1]);
  std::vector<pid_t> pids(5);
  ssize_t n = read(report[0], pids.data(), pids.size() * sizeof(pid_t));
  ASSERT_EQ(n, static_cast<ssize_t>(pids.size() * sizeof(pid_t)));
  std::string session(4096, '\0');
  n = read(report[0], session.data(), session.size());
  close(report[0]);
  ASSERT_GT(n, 0);
  session.resize(n);
  EXPECT_TRUE(std::filesystem::exists(session));
  for (pid_t pid : pids) EXPECT_TRUE(Alive(pid));
  kill(driver, SIGKILL);
  waitpid(driver, nullptr, 0);
  EXPECT_TRUE(AllGone(pids)) << "a process of the killed driver's session is still running";
  for (int i = 0; i < 1000 && std::filesystem::exists(session); ++i) {
    absl::SleepFor(absl::Milliseconds(10));  // the zygote removes it as it ends
  }
  EXPECT_FALSE(std::filesystem::exists(session)) << "the killed driver's session folder is left";
}

// PR_SET_PDEATHSIG fires when the forking *thread* ends: a node started from a thread that
// then ends must live on.
TEST(ProcessLifetimeTest, InitFromAThreadThatEndsKeepsTheNode) {
  absl::StatusOr<std::unique_ptr<DriverRuntime>> runtime;
  std::thread([&] {
    runtime = DriverRuntime::Start({.num_workers = 1, .object_store_memory = 64 << 20});
  }).join();
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  std::vector<pid_t> pids = SessionPids(**runtime);
  // The store (a child of the zygote) still serves: a 1 MiB object goes through it.
  std::string big(1 << 20, 'x');
  ObjectID id =
      (*runtime)
          ->Put(big.size(),
                [&](std::span<uint8_t> out) { std::memcpy(out.data(), big.data(), big.size()); },
                {})
          .value();
  auto values = (*runtime)->Get({&id, 1}, absl::Seconds(30)).value();
  EXPECT_EQ(values.at(0).bytes.size(), big.size());
  for (pid_t pid : pids) EXPECT_TRUE(Alive(pid)) << pid;
  runtime->reset();
  EXPECT_TRUE(AllGone(pids, absl::Seconds(5)));
}

}  // namespace
}  // namespace ray::core
