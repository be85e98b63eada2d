// The ray_store command line: help, required and malformed flags, clean shutdown.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ray/store/client.h"
#include "tests/store/store_process.h"
#include "tests/store/test_util.h"

namespace ray::store {
namespace {

using ::ray::testing::StoreProcess;

struct RunResult {
  int exit_code = -1;  // -1 if it did not exit normally (or in time)
  std::string output;  // stdout and stderr together
};

// Runs ray_store with `args` to completion (at most 30 s).
RunResult RunStore(std::vector<std::string> args) {
  args.insert(args.begin(), StoreProcess::Binary());
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  RunResult result;
  ray::testing::Channel channel(out[0], -1);
  char c;
  while (channel.Receive(&c, 1, absl::Seconds(30))) result.output += c;
  close(out[0]);
  int status = 0;
  bool exited = ray::testing::WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; },
                                      absl::Seconds(30));
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  } else if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  return result;
}

bool Mentions(const std::string& text, const std::string& what) {
  return text.find(what) != std::string::npos;
}

TEST(StoreMainTest, HelpDescribesTheFlagsAndSucceeds) {
  RunResult help = RunStore({"--help"});
  EXPECT_EQ(help.exit_code, 0) << help.output;
  for (const char* flag : {"--socket", "--capacity", "--max_objects", "--huge_pages"}) {
    EXPECT_TRUE(Mentions(help.output, flag)) << flag << " missing from:\n" << help.output;
  }
  // The flags' own descriptions, not only the usage line.
  EXPECT_TRUE(Mentions(help.output, "Path of the unix socket")) << help.output;
  EXPECT_TRUE(Mentions(help.output, "suffixes K, M, G")) << help.output;
}

TEST(StoreMainTest, MissingSocketIsAnError) {
  RunResult run = RunStore({"--capacity=16M"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_TRUE(Mentions(run.output, "--socket is required")) << run.output;
}

TEST(StoreMainTest, BadCapacityIsAnError) {
  char dir_template[] = "/tmp/ray-store-main-test-XXXXXX";
  std::string socket = std::string(mkdtemp(dir_template)) + "/store.sock";
  for (const char* capacity : {"abc", "0", "-5", "12X", "", "1.5G", "99999999999G", "M"}) {
    RunResult run = RunStore({"--socket=" + socket, std::string("--capacity=") + capacity});
    EXPECT_NE(run.exit_code, 0) << "--capacity=" << capacity;
    EXPECT_TRUE(Mentions(run.output, "bad --capacity")) << capacity << ": " << run.output;
    EXPECT_NE(access(socket.c_str(), F_OK), 0) << "it listened with --capacity=" << capacity;
  }
  rmdir(dir_template);
}

TEST(StoreMainTest, BadMaxObjectsAndUnknownFlagsAreErrors) {
  char dir_template[] = "/tmp/ray-store-main-test-XXXXXX";
  std::string socket = std::string(mkdtemp(dir_template)) + "/store.sock";
  RunResult zero = RunStore({"--socket=" + socket, "--max_objects=0"});
  EXPECT_NE(zero.exit_code, 0);
  EXPECT_TRUE(Mentions(zero.output, "max_objects")) << zero.output;
  RunResult unknown = RunStore({"--socket=" + socket, "--no_such_flag=1"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(Mentions(unknown.output, "no_such_flag")) << unknown.output;
  rmdir(dir_template);
}

TEST(StoreMainTest, CapacitySuffixesAreBytes) {
  for (auto [flag, bytes] : {std::pair<const char*, uint64_t>{"4096", 4096},
                             {"64K", 64 << 10},
                             {"3m", 3 << 20},
                             {"1G", 1ull << 30}}) {
    StoreProcess store({std::string("--capacity=") + flag, "--max_objects=64"});
    ASSERT_TRUE(store.ready()) << flag;
    auto client = StoreClient::Connect(store.socket_path());
    ASSERT_TRUE(client.ok()) << client.status();
    EXPECT_EQ((*client)->capacity(), bytes) << flag;
  }
}

TEST(StoreMainTest, HugePagesFallBackToOrdinaryPages) {
  // Whether or not the machine has huge pages to spare, the store starts and serves.
  StoreProcess store({"--capacity=8M", "--huge_pages"});
  ASSERT_TRUE(store.ready());
  auto client = StoreClient::Connect(store.socket_path());
  ASSERT_TRUE(client.ok()) << client.status();
  std::vector<uint8_t> data(3 << 20, 9);
  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE((*client)->Put(id, data).ok());
  auto got = (*client)->Get(id, absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->data()[(3 << 20) - 1], 9);
}

TEST(StoreMainTest, SigtermStopsCleanlyAndRemovesTheSocket) {
  StoreProcess store({"--capacity=16M"});
  ASSERT_TRUE(store.ready());
  {
    auto client = StoreClient::Connect(store.socket_path());
    ASSERT_TRUE(client.ok()) << client.status();
  }
  int status = store.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
  EXPECT_NE(access(store.socket_path().c_str(), F_OK), 0);
}

TEST(StoreMainTest, StaleSocketFileIsReplaced) {
  StoreProcess first({"--capacity=16M"});
  ASSERT_TRUE(first.ready());
  first.Kill(SIGKILL);  // leaves its socket file behind
  ASSERT_EQ(access(first.socket_path().c_str(), F_OK), 0);
  // A new store on the same path serves clients.
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::string socket_flag = "--socket=" + first.socket_path();
    std::string binary = StoreProcess::Binary();
    char capacity[] = "--capacity=16M";
    char* argv[] = {binary.data(), socket_flag.data(), capacity, nullptr};
    execv(argv[0], argv);
    _exit(127);
  }
  auto client = StoreClient::Connect(first.socket_path(), {.connect_timeout = absl::Seconds(10)});
  EXPECT_TRUE(client.ok()) << client.status();
  client = absl::UnavailableError("disconnected");
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
}

}  // namespace
}  // namespace ray::store
