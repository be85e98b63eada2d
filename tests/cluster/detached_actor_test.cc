// Detached actors across drivers, on a cluster of real processes (a head and a node started by
// the real `ray` binary on 127.0.0.1): each driver is a run of tests/cluster/detached_driver, the
// same program each time. A detached actor made by one driver outlives it; the next driver finds
// it by name, with its state, and calls it (ObjectRef arguments, large results, from its tasks
// too); a name taken by a detached actor is refused to another driver; a kill from any driver
// ends it; the cluster's end ends it. Drivers that ask at once share one start of the actor host.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/cluster/ray_cli.h"

namespace ray::testing {
namespace {

class DetachedActorTest : public RayCliTest {
 protected:
  void SetUp() override {
    RayCliTest::SetUp();
    head_ = AddNode({.num_cpus = 2});
    node_ = AddNode({.num_cpus = 1});
  }
  RunResult Driver(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv = {"tests/cluster/detached_driver", address_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(std::move(argv), env);
  }
  StartedNode head_, node_;
};

TEST_F(DetachedActorTest, ADetachedActorOutlivesItsDriverAndIsFoundFromAnother) {
  RunResult made = Driver({"create", "keeper", "5"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string pid = Find(made.output, "made 6 (\\d+)");
  ASSERT_FALSE(pid.empty()) << made.output;
  // The first driver is gone; the actor is not, and it kept its state.
  RunResult used = Driver({"use", "keeper", "10"});
  ASSERT_EQ(used.exit_code, 0) << used.output;
  EXPECT_NE(used.output.find("found 16 " + pid), std::string::npos) << used.output;
  RunResult refs = Driver({"refs", "keeper"});
  ASSERT_EQ(refs.exit_code, 0) << refs.output;
  EXPECT_NE(refs.output.find("refs 26 1048576"), std::string::npos) << refs.output;
  // From a driver's tasks: through a handle passed in, and found by name there.
  RunResult tasks = Driver({"tasks", "keeper"});
  ASSERT_EQ(tasks.exit_code, 0) << tasks.output;
  EXPECT_NE(tasks.output.find("tasks 126 1126"), std::string::npos) << tasks.output;
  EXPECT_NE(tasks.output.find("a detached actor is made by the driver"), std::string::npos)
      << tasks.output;
  // Its name is taken for every driver while it lives.
  RunResult again = Driver({"create", "keeper", "0"});
  EXPECT_NE(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("the name is taken"), std::string::npos) << again.output;
  EXPECT_EQ(Driver({"use", "nobody", "1"}).output, "none\n");
  // A kill from any driver ends it; the name is free again.
  RunResult killed = Driver({"kill", "keeper"});
  ASSERT_EQ(killed.exit_code, 0) << killed.output;
  EXPECT_NE(killed.output.find("killed"), std::string::npos) << killed.output;
  EXPECT_TRUE(EndsWithin(std::stoi(pid), absl::Seconds(30)));
  EXPECT_EQ(Driver({"use", "keeper", "1"}).output, "none\n");
}

TEST_F(DetachedActorTest, TheClustersEndEndsItsDetachedActors) {
  RunResult made = Driver({"create", "keeper", "0"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string pid = Find(made.output, "made 1 (\\d+)");
  ASSERT_FALSE(pid.empty()) << made.output;
  RunResult stopped = RunRay({"stop"});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.output;
  EXPECT_TRUE(EndsWithin(std::stoi(pid), absl::Seconds(30)));
}

TEST_F(DetachedActorTest, DriversAskingAtOnceShareOneStartOfTheActorHost) {
  // Each driver joins, then waits at the barrier; released together, each makes a detached actor,
  // so that all ask the head for the program's actor host while none is registered yet.
  constexpr int kDrivers = 3;
  const std::string fifo = tmp_ + "/barrier", ready = tmp_ + "/ready";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ASSERT_TRUE(std::filesystem::create_directory(ready));
  // Held open (read and write: it does not wait for a reader) until all wait: their reads end
  // together when it closes.
  int barrier = open(fifo.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(barrier, 0);
  RunResult made[kDrivers];
  std::vector<std::thread> drivers;
  for (int i = 0; i < kDrivers; ++i) {
    drivers.emplace_back([&, i] {
      made[i] = Driver({"create", absl::StrCat("tally", i), "0"},
                       {{"DETACHED_DRIVER_BARRIER", fifo}, {"DETACHED_DRIVER_READY", ready}});
    });
  }
  const bool all_wait = Within(absl::Seconds(120), [&] {
    std::error_code error;
    auto files = std::filesystem::directory_iterator(ready, error);
    return !error && std::distance(files, std::filesystem::directory_iterator()) == kDrivers;
  });
  close(barrier);
  for (std::thread& driver : drivers) driver.join();
  ASSERT_TRUE(all_wait) << "the drivers did not all reach the barrier";
  for (const RunResult& run : made) {
    EXPECT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("made 1 "), std::string::npos) << run.output;
  }
  // One start, one host: the head's node runs it (beside its store and the drivers' workers).
  const std::string log = NodeLog(head_);
  EXPECT_EQ(LinesWith(log, "starting actor host "), 1) << log;
  EXPECT_EQ(LinesWith(log, " is actor host "), 1) << log;
  int hosts = 0;
  for (pid_t child : Children(head_.pid)) hosts += Comm(child) == "ray::actor_host";
  EXPECT_EQ(hosts, 1);
}

}  // namespace
}  // namespace ray::testing
