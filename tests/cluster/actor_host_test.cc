// A program's actor host (ray/core_worker/actor_host.h): a driver asks the head for it
// (core::ActorHostOfCluster), and the head starts this same test program in host mode on its node
// once, registered in the node table as a node of no CPUs. Asking again, from this driver or
// another of the program, gives the same host; it outlives the drivers; killed, it is started
// again on the next ask; `ray stop` and the head's death end it and what it started.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "ray/api.h"
#include "ray/cluster/head_client.h"
#include "ray/cluster/local_files.h"
#include "ray/core_worker/session.h"
#include "tests/cluster/ray_cli.h"

namespace ray::testing {
namespace {

// Set for the second driver this test runs (ActorHostDriver.PrintsItsHost): the cluster's address.
constexpr char kSecondDriverEnv[] = "ACTOR_HOST_TEST_ADDRESS";

bool Alive(pid_t pid) { return kill(pid, 0) == 0 && !EndsWithin(pid, absl::ZeroDuration()); }

// The pipes `pid` holds open: the "pipe:[INODE]" targets of its /proc/PID/fd.
std::set<std::string> Pipes(pid_t pid) {
  std::set<std::string> pipes;
  std::error_code error;
  for (const auto& fd :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/fd"), error)) {
    std::string target = std::filesystem::read_symlink(fd.path(), error).string();
    if (target.starts_with("pipe:")) pipes.insert(target);
  }
  return pipes;
}

class ActorHostTest : public RayCliTest {
 protected:
  void SetUp() override {
    RayCliTest::SetUp();
    head_ = AddNode({.num_cpus = 2});
  }
  void TearDown() override {
    ray::Shutdown();
    RayCliTest::TearDown();
  }

  void InitDriver() {
    ray::Init({.num_workers = 1, .object_store_memory = 32 << 20, .address = address_});
  }
  cluster::ActorHostAddress AskForHost() {
    auto host = core::ActorHostOfCluster();
    EXPECT_TRUE(host.ok()) << host.status();
    return host.ok() ? *host : cluster::ActorHostAddress{};
  }
  // The actor hosts the head's node runs: its children but its store.
  std::vector<pid_t> Hosts() {
    std::vector<pid_t> hosts = Children(head_.pid);
    std::erase(hosts, head_.store_pid);
    return hosts;
  }
  // The head's node table (the driver may be gone).
  std::vector<cluster::NodeEntry> NodeTable() {
    auto token = cluster::FindToken(address_);
    auto credentials = cluster::CredentialsFromEnv(token.ok() ? *token : "");
    auto client = cluster::HeadClient::Connect(address_, *credentials);
    if (!client.ok()) return {};
    auto nodes = (*client)->Nodes();
    return nodes.ok() ? *nodes : std::vector<cluster::NodeEntry>{};
  }
  // The host's node: the one alive with no CPUs.
  std::optional<cluster::NodeEntry> HostNode() {
    for (const cluster::NodeEntry& node : NodeTable()) {
      if (node.alive && !node.is_head && node.num_cpus == 0) return node;
    }
    return std::nullopt;
  }

  StartedNode head_;
};

std::string NodeIdInTask() { return ray::GetRuntimeContext().GetNodeId(); }

class Counter {
 public:
  int Add(int x) { return total_ += x; }
  std::string Where() { return ray::GetRuntimeContext().GetNodeId(); }

 private:
  int total_ = 0;
};
Counter MakeCounter() { return Counter(); }

TEST_F(ActorHostTest, ASessionOfNoCpusRunsItsTasksAndActorsOnTheOtherNodes) {
  // A session as the host's (SessionOptions::actor_host): its node offers no CPUs.
  ASSERT_TRUE(
      core::StartSession({.object_store_memory = 32 << 20, .address = address_, .actor_host = true})
          .ok());
  const std::string here = ray::GetRuntimeContext().GetNodeId();
  EXPECT_EQ(ray::Get(ray::Remote(NodeIdInTask)()), head_.id);
  auto counter = ray::Actor(MakeCounter).Remote();
  EXPECT_EQ(counter.Task(&Counter::Add).Remote(2).Get(), 2);
  EXPECT_EQ(counter.Task(&Counter::Add).Remote(3).Get(), 5);
  EXPECT_EQ(counter.Task(&Counter::Where).Remote().Get(), head_.id);
  EXPECT_NE(head_.id, here);
}

TEST_F(ActorHostTest, ConcurrentAndLaterAsksShareOneHostWhoseNodeOffersNoCpus) {
  InitDriver();
  auto none = core::ActorHostOfCluster(/*start=*/false);  // asked without starting one
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound) << none.status();
  EXPECT_TRUE(Hosts().empty());
  cluster::ActorHostAddress asked[2];
  std::thread other([&] { asked[1] = AskForHost(); });
  asked[0] = AskForHost();
  other.join();
  cluster::ActorHostAddress again = AskForHost();
  auto found = core::ActorHostOfCluster(/*start=*/false);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->address, asked[0].address);
  EXPECT_EQ(asked[0].address, asked[1].address);
  EXPECT_EQ(asked[0].job, asked[1].job);
  EXPECT_EQ(again.address, asked[0].address);
  EXPECT_EQ(again.job, asked[0].job);
  EXPECT_TRUE(asked[0].address.starts_with("127.0.0.1:")) << asked[0].address;
  EXPECT_NE(asked[0].job, 0u);
  std::vector<pid_t> hosts = Hosts();
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(Comm(hosts[0]), "ray::actor_host");

  // In the table as a node of no CPUs, beside the head and this driver's node.
  std::optional<cluster::NodeEntry> host_node = HostNode();
  ASSERT_TRUE(host_node.has_value());
  EXPECT_NE(host_node->node_id, ray::GetRuntimeContext().GetNodeId());
  EXPECT_EQ(NodeTable().size(), 3u);
  std::string status = RunRay({"status"}).output;
  EXPECT_NE(status.find(host_node->node_id + " 127.0.0.1 alive node CPUs: 0 (0 in use)"),
            std::string::npos)
      << status;
}

TEST_F(ActorHostTest, OnceTheHostIsReadyNothingItStartedHoldsItsReadyPipe) {
  InitDriver();
  AskForHost();
  ASSERT_EQ(Hosts().size(), 1u);
  pid_t host = Hosts()[0];
  // What the host started: its zygote and what that forked (its store). The node (the
  // launcher) reads the host's ready pipe until its end; one of these holding it open would keep
  // that end away for the host's whole life. (The host itself closes it just after saying it is
  // ready, which may be after its node has passed the answer on.)
  std::vector<pid_t> processes = Children(host);
  for (size_t i = 0; i < processes.size(); ++i) {
    for (pid_t child : Children(processes[i])) processes.push_back(child);
  }
  ASSERT_GE(processes.size(), 2u);
  const std::set<std::string> nodes_pipes = Pipes(head_.pid);
  for (pid_t pid : processes) {
    for (const std::string& pipe : Pipes(pid)) {
      EXPECT_FALSE(nodes_pipes.contains(pipe))
          << Comm(pid) << " " << pid << " holds " << pipe << ", which the node holds too";
    }
  }
}

TEST_F(ActorHostTest, TheHostOutlivesItsDriversAndServesTheProgramsOthers) {
  InitDriver();
  cluster::ActorHostAddress first = AskForHost();
  ASSERT_EQ(Hosts().size(), 1u);
  pid_t host = Hosts()[0];
  ray::Shutdown();  // the driver ends: its node is dead, the host stays
  EXPECT_TRUE(Alive(host));
  ASSERT_TRUE(HostNode().has_value());

  // Another driver of the same program, in a process of its own that exits.
  RunResult second =
      RunProgram({std::filesystem::read_symlink("/proc/self/exe").string(),
                  "--gtest_filter=ActorHostDriver.PrintsItsHost"},
                 // Not the files of this test's gtest run (Bazel's environment names them).
                 {{kSecondDriverEnv, address_},
                  {"TEST_PREMATURE_EXIT_FILE", ""},
                  {"XML_OUTPUT_FILE", tmp_ + "/second_driver.xml"}});
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find(absl::StrCat("actor host: ", first.address, " job ", first.job)),
            std::string::npos)
      << second.output;
  EXPECT_TRUE(Alive(host));
  EXPECT_EQ(Hosts(), std::vector<pid_t>{host});

  InitDriver();
  cluster::ActorHostAddress third = AskForHost();
  EXPECT_EQ(third.address, first.address);
  EXPECT_EQ(third.job, first.job);
}

TEST_F(ActorHostTest, AKilledHostIsStartedAgainOnTheNextAsk) {
  InitDriver();
  cluster::ActorHostAddress first = AskForHost();
  ASSERT_EQ(Hosts().size(), 1u);
  pid_t host = Hosts()[0];
  std::optional<cluster::NodeEntry> node = HostNode();
  ASSERT_TRUE(node.has_value());
  ASSERT_EQ(kill(host, SIGKILL), 0);
  ASSERT_TRUE(EndsWithin(host, absl::Seconds(30)));
  // The head holds its node dead once the connection's end reached it.
  EXPECT_TRUE(Within(absl::Seconds(20), [&] {
    for (const cluster::NodeEntry& entry : NodeTable()) {
      if (entry.node_id == node->node_id) return !entry.alive;
    }
    return false;
  }));

  cluster::ActorHostAddress second = AskForHost();
  EXPECT_FALSE(second.address.empty());
  EXPECT_NE(second.job, first.job);
  std::vector<pid_t> hosts = Hosts();
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_NE(hosts[0], host);
  EXPECT_TRUE(Alive(hosts[0]));
}

TEST_F(ActorHostTest, RayStopLeavesNoHostNorWhatItStarted) {
  InitDriver();
  AskForHost();
  ASSERT_EQ(Hosts().size(), 1u);
  pid_t host = Hosts()[0];
  std::vector<pid_t> started = Children(host);  // its zygote, which forked its store
  EXPECT_FALSE(started.empty());
  ray::Shutdown();
  RunResult stop = RunRay({"stop"});
  EXPECT_EQ(stop.exit_code, 0) << stop.output;
  EXPECT_TRUE(EndsWithin(host, absl::Seconds(30)));
  for (pid_t pid : started) EXPECT_TRUE(EndsWithin(pid, absl::Seconds(30))) << pid;
}

TEST_F(ActorHostTest, TheHeadsDeathTakesItsHost) {
  InitDriver();
  AskForHost();
  ASSERT_EQ(Hosts().size(), 1u);
  pid_t host = Hosts()[0];
  std::vector<pid_t> started = Children(host);
  ray::Shutdown();
  RemoveNode(head_, Removal::kKill);  // PR_SET_PDEATHSIG: no chance to stop it
  EXPECT_TRUE(EndsWithin(host, absl::Seconds(30)));
  for (pid_t pid : started) EXPECT_TRUE(EndsWithin(pid, absl::Seconds(30))) << pid;
}

TEST_F(ActorHostTest, OutsideAClusterOrForAnUnknownProgramThereIsNone) {
  ray::Init({.num_workers = 1, .object_store_memory = 32 << 20});
  auto none = core::ActorHostOfCluster();
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition) << none.status();
  EXPECT_NE(none.status().message().find("not in a cluster"), std::string::npos) << none.status();
  ray::Shutdown();
  auto token = cluster::FindToken(address_);
  ASSERT_TRUE(token.ok());
  auto client = cluster::HeadClient::Connect(address_, *cluster::CredentialsFromEnv(*token));
  ASSERT_TRUE(client.ok());
  auto unknown = (*client)->ActorHost("no-such-program", "", {"x"}, {});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kUnavailable) << unknown.status();
  EXPECT_NE(unknown.status().message().find("has no program no-such-program"), std::string::npos)
      << unknown.status();
  EXPECT_TRUE(Hosts().empty());
}

TEST_F(ActorHostTest, AHostThatCannotStartIsAnErrorWithItsReason) {
  RunResult asked = RunProgram({"tests/cluster/host_exits_child", address_});
  EXPECT_EQ(asked.exit_code, 0) << asked.output;
  EXPECT_NE(asked.output.find("UNAVAILABLE: actor host "), std::string::npos) << asked.output;
  EXPECT_NE(asked.output.find("it exited before it registered (exit status 3"), std::string::npos)
      << asked.output;
  EXPECT_NE(asked.output.find("host_exits_child: no host here"), std::string::npos) << asked.output;
  EXPECT_TRUE(Hosts().empty());
}

// Not a test of its own: the second driver of TheHostOutlivesItsDriversAndServesTheProgramsOthers.
TEST(ActorHostDriver, PrintsItsHost) {
  const char* address = std::getenv(kSecondDriverEnv);
  if (address == nullptr) GTEST_SKIP() << "run by ActorHostTest as a second driver";
  ray::Init({.num_workers = 1, .object_store_memory = 32 << 20, .address = address});
  auto host = core::ActorHostOfCluster();
  ASSERT_TRUE(host.ok()) << host.status();
  printf("actor host: %s job %u\n", host->address.c_str(), host->job);
  ray::Shutdown();
}

}  // namespace
}  // namespace ray::testing
