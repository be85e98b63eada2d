// The main of cluster tests whose drivers join a cluster: a node starts this same program as a
// worker of the test's driver, which must not run the tests again (what a program does before
// ray::Init runs in its remote workers too), so it enters worker mode first.
#include <gtest/gtest.h>

#include "ray/api.h"

int main(int argc, char** argv) {
  ray::RunAsWorkerIfStarted();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
