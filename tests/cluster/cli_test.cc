// The `ray` CLI with real processes on 127.0.0.1: a head and two nodes, `ray status`, a node
// that dies or stops heartbeating shown dead, a node ending when its head is gone, `ray stop`
// leaving nothing behind, --block.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "absl/strings/match.h"
#include "tests/cluster/ray_cli.h"

namespace ray::testing {
namespace {

class CliTest : public RayCliTest {
 protected:
  void SetUp() override {
    RayCliTest::SetUp();
    setenv("RAY_HEALTH_CHECK_PERIOD_MS", "100", 1);
    setenv("RAY_HEALTH_CHECK_FAILURE_THRESHOLD", "5", 1);
  }
};

TEST_F(CliTest, HeadAndTwoNodesThenDeathsThenStop) {
  StartedNode head = Start({"--head", "--port=0", "--num-cpus=4"});
  ASSERT_FALSE(address_.empty());
  EXPECT_TRUE(absl::StartsWith(address_, "127.0.0.1:"));
  struct stat info;
  ASSERT_EQ(stat(head.folder.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  std::string token_file = absl::StrCat(root_, "/token-", address_);
  token_file.replace(token_file.rfind(':'), 1, "_");
  ASSERT_EQ(stat(token_file.c_str(), &info), 0) << token_file;
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  StartedNode gpu =
      Start({"--address=" + address_, "--num-cpus=2", R"(--resources={"gpu_box": 1})"});
  StartedNode other = Start({"--address=auto", "--num-cpus=3"});

  RunResult status = RunRay({"status"});
  ASSERT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find("3 alive, 0 dead"), std::string::npos) << status.output;
  EXPECT_NE(status.output.find(head.id + " 127.0.0.1 alive head CPUs: 4"), std::string::npos)
      << status.output;
  EXPECT_NE(status.output.find(gpu.id + " 127.0.0.1 alive node CPUs: 2"), std::string::npos);
  EXPECT_NE(status.output.find("resources: gpu_box: 1"), std::string::npos);
  EXPECT_NE(status.output.find("Total (alive): 9 CPUs"), std::string::npos);
  EXPECT_NE(status.output.find("of 96.0 MiB"), std::string::npos);

  // SIGKILL: its store ends with it, and the head holds it dead.
  kill(gpu.pid, SIGKILL);
  EXPECT_TRUE(EndsWithin(gpu.store_pid, absl::Seconds(10)));
  std::string after =
      StatusUntil([](const std::string& out) { return out.find("1 dead") != std::string::npos; });
  EXPECT_NE(after.find(gpu.id + " 127.0.0.1 dead"), std::string::npos) << after;

  // SIGSTOP: its connection stays open, its heartbeats stop (0.5 s here).
  kill(other.pid, SIGSTOP);
  after =
      StatusUntil([](const std::string& out) { return out.find("2 dead") != std::string::npos; });
  EXPECT_NE(after.find("1 alive, 2 dead"), std::string::npos) << after;
  EXPECT_NE(after.find("no heartbeat for 500ms"), std::string::npos) << after;
  // Resumed, its next heartbeat is refused (dead is final): it stops by itself.
  kill(other.pid, SIGCONT);
  EXPECT_TRUE(EndsWithin(other.pid, absl::Seconds(20)));
  EXPECT_TRUE(EndsWithin(other.store_pid, absl::Seconds(10)));
  EXPECT_FALSE(std::filesystem::exists(other.folder));

  // The SIGKILLed node left its folder: removed, reported as ended before, not as stopped.
  EXPECT_TRUE(std::filesystem::exists(gpu.folder));
  RunResult stop = RunRay({"stop"});
  EXPECT_EQ(stop.exit_code, 0) << stop.output;
  EXPECT_NE(stop.output.find("Stopped 1 node.\n1 node had already ended"), std::string::npos)
      << stop.output;
  for (pid_t pid : {head.pid, head.store_pid}) {
    EXPECT_TRUE(EndsWithin(pid, absl::Seconds(10))) << pid;
  }
  EXPECT_TRUE(std::filesystem::is_empty(root_)) << "left in " << root_;
  RunResult gone = RunRay({"status"});
  EXPECT_NE(gone.exit_code, 0);
}

// A head, a node that joined it, and the node's log opened while it runs (its folder goes at
// its end).
struct HeadAndNode {
  StartedNode head;
  StartedNode node;
  int log = -1;
};

// Waits for the node's end (store and folder gone too); returns what it logged.
std::string NodeEnds(const HeadAndNode& started) {
  EXPECT_TRUE(EndsWithin(started.node.pid, absl::Seconds(20)));
  EXPECT_TRUE(EndsWithin(started.node.store_pid, absl::Seconds(10)));
  EXPECT_FALSE(std::filesystem::exists(started.node.folder));
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = pread(started.log, buf, sizeof(buf), text.size())) > 0) text.append(buf, n);
  close(started.log);
  return text;
}

class NodeWithoutHeadTest : public CliTest {
 protected:
  HeadAndNode StartHeadAndNode() {
    HeadAndNode started{Start({"--head", "--port=0"}), Start({"--address=" + address_})};
    started.log = open((started.node.folder + "/node.log").c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(started.log, 0);
    return started;
  }
};

TEST_F(NodeWithoutHeadTest, NodeStopsWhenItsHeadIsKilled) {
  HeadAndNode started = StartHeadAndNode();
  kill(started.head.pid, SIGKILL);
  std::string why = NodeEnds(started);
  EXPECT_NE(why.find("the cluster head at " + address_ + " is gone"), std::string::npos) << why;
  EXPECT_NE(why.find("stopping this node"), std::string::npos) << why;
  // Only the head's folder is left; `ray stop` stops nothing and removes it.
  ASSERT_TRUE(EndsWithin(started.head.store_pid, absl::Seconds(10)));
  RunResult stop = RunRay({"stop"});
  EXPECT_EQ(stop.exit_code, 0) << stop.output;
  EXPECT_NE(stop.output.find("Stopped 0 nodes.\n1 node had already ended"), std::string::npos)
      << stop.output;
  EXPECT_TRUE(std::filesystem::is_empty(root_)) << "left in " << root_;
}

TEST_F(NodeWithoutHeadTest, NodeStopsWhenItsHeadStopsAnswering) {
  HeadAndNode started = StartHeadAndNode();
  // SIGSTOP: the connection stays open; heartbeats go unanswered (0.5 s here).
  kill(started.head.pid, SIGSTOP);
  std::string why = NodeEnds(started);
  EXPECT_NE(why.find("no answer to a heartbeat for 500ms"), std::string::npos) << why;
  kill(started.head.pid, SIGKILL);
  EXPECT_TRUE(EndsWithin(started.head.store_pid, absl::Seconds(10)));
}

TEST_F(CliTest, BlockStaysInTheForegroundAndItsStoreEndsWithIt) {
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    execl("ray/cli/ray", "ray/cli/ray", "start", "--head", "--port=0", "--block",
          "--object-store-memory=32M", nullptr);
    _exit(127);
  }
  close(out[1]);
  std::string printed;
  char buf[4096];
  ssize_t n;
  while (printed.find("Status:") == std::string::npos && (n = read(out[0], buf, sizeof(buf))) > 0) {
    printed.append(buf, n);
  }
  close(out[0]);
  ASSERT_NE(printed.find("Cluster address: 127.0.0.1:"), std::string::npos) << printed;
  auto children = Children(pid);
  ASSERT_EQ(children.size(), 1u);
  RunResult status = RunRay({"status"});
  EXPECT_NE(status.output.find("1 alive, 0 dead"), std::string::npos) << status.output;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  EXPECT_TRUE(EndsWithin(children[0], absl::Seconds(10)));
}

TEST_F(CliTest, BadInvocationsSayWhy) {
  RunResult both = RunRay({"start", "--head", "--address=127.0.0.1:1"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.output.find("either --head or --address"), std::string::npos) << both.output;
  RunResult resources = RunRay({"start", "--head", "--resources={gpu: 1}"});
  EXPECT_NE(resources.output.find("JSON object"), std::string::npos) << resources.output;
  setenv("RAY_AUTH_TOKEN", "x", 1);
  RunResult unreachable = RunRay({"start", "--address=127.0.0.1:1"});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_NE(unreachable.output.find("cannot reach the cluster head"), std::string::npos)
      << unreachable.output;
  EXPECT_TRUE(std::filesystem::is_empty(root_)) << "a failed start left its folder";
}

// A TMPDIR so long that the store's socket path in the node's folder would not fit a unix
// socket's address: refused before anything starts, saying so (no log to point to).
TEST_F(CliTest, ATmpdirTooLongForTheStoresSocketIsRefusedAtOnce) {
  const std::string long_tmp = tmp_ + "/" + std::string(40, 'x');
  ASSERT_TRUE(std::filesystem::create_directory(long_tmp));
  setenv("TMPDIR", long_tmp.c_str(), 1);
  RunResult head = RunRay({"start", "--head", "--port=0", "--object-store-memory=32M"});
  setenv("TMPDIR", tmp_.c_str(), 1);
  EXPECT_EQ(head.exit_code, 1);
  EXPECT_NE(head.output.find("store.sock"), std::string::npos) << head.output;
  EXPECT_NE(head.output.find("at most 107 bytes"), std::string::npos) << head.output;
  EXPECT_NE(head.output.find("TMPDIR"), std::string::npos) << head.output;
  EXPECT_EQ(head.output.find("see "), std::string::npos) << head.output;
  const std::string long_root = absl::StrCat(long_tmp, "/ray-", getuid());
  EXPECT_TRUE(!std::filesystem::exists(long_root) || std::filesystem::is_empty(long_root))
      << "a refused start left something in " << long_root;
}

}  // namespace
}  // namespace ray::testing
