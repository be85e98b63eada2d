// A node whose workers cannot reach the driver: the driver's program exits before it gets there
// (as a program would on a node that lacks something it needs before ray::Init). The node's
// launcher hears it on the worker's ready pipe, the driver stops using that node, and a task
// only that node could run fails with the reason instead of waiting forever. Tasks elsewhere
// still run.
#include <gtest/gtest.h>

#include <cstdlib>

#include "ray/api.h"
#include "tests/cluster/ray_cli.h"

constexpr char kExitEarly[] = "WORKER_START_TEST_EXIT_EARLY";

namespace ray::testing {
namespace {

std::string WhereAmI() { return ray::GetRuntimeContext().GetNodeId(); }

class WorkerStartTest : public RayCliTest {
 protected:
  void TearDown() override {
    ray::Shutdown();
    unsetenv(kExitEarly);
    RayCliTest::TearDown();
  }
};

TEST_F(WorkerStartTest, AWorkerThatNeverReachesTheDriverFailsItsTasksClearly) {
  AddNode({.num_cpus = 1});
  setenv(kExitEarly, "1", 1);  // the next node, and the workers it starts, have it
  StartedNode broken = AddNode({.num_cpus = 1, .resources = R"({"broken_box": 1})"});
  ray::Init({.num_workers = 1, .object_store_memory = 32 << 20, .address = address_});
  auto stranded = ray::Remote(WhereAmI).Options({.resources = {{"broken_box", 1}}})();
  try {
    ray::Get(stranded);
    FAIL() << "ran on a node whose workers exit before they start";
  } catch (const ray::RayError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("is lost: node " + broken.id +
                        " cannot run this driver's workers: its workers exited before they "
                        "reached the driver (exit status 3;"),
              std::string::npos)
        << what;
  }
  EXPECT_EQ(ray::Get(ray::Remote(WhereAmI)()), ray::GetRuntimeContext().GetNodeId());
}

}  // namespace
}  // namespace ray::testing

int main(int argc, char** argv) {
  // A worker started on the broken node: exits before it reaches its driver.
  if (std::getenv(kExitEarly) != nullptr && std::getenv("RAY_WORKER_SCHEDULER") != nullptr) {
    return 3;
  }
  ray::RunAsWorkerIfStarted();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
