#include "ray/faults/fault_injection.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ray::faults {
namespace {

class FaultInjectionTest : public ::testing::Test {
 protected:
  void TearDown() override { DisarmAll(); }
};

TEST_F(FaultInjectionTest, UnarmedPointsDoNothing) {
  EXPECT_EQ(At("worker.send_results"), Action::kNone);
  EXPECT_EQ(Hits("worker.send_results"), 0);
}

TEST_F(FaultInjectionTest, AnArmedPointActsOnEveryHitOrOnTheNthOnly) {
  ASSERT_TRUE(Arm("every", Action::kGarbage).ok());
  ASSERT_TRUE(Arm("second", Action::kKill, 2).ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(At("every"), Action::kGarbage);
  EXPECT_EQ(At("second"), Action::kNone);
  EXPECT_EQ(At("second"), Action::kKill);
  EXPECT_EQ(At("second"), Action::kNone);
  EXPECT_EQ(At("other"), Action::kNone);
  EXPECT_EQ(Hits("second"), 3);
  DisarmAll();
  EXPECT_EQ(At("every"), Action::kNone);
}

TEST_F(FaultInjectionTest, SpecsListPointsActionsAndCounts) {
  ASSERT_TRUE(ArmFromSpec(" a.b=truncate@1; c=refuse ;d=bogus_length").ok());
  EXPECT_EQ(At("a.b"), Action::kTruncate);
  EXPECT_EQ(At("a.b"), Action::kNone);
  EXPECT_EQ(At("c"), Action::kRefuse);
  EXPECT_EQ(At("d"), Action::kBogusLength);
  EXPECT_FALSE(ArmFromSpec("x=explode").ok());
  EXPECT_FALSE(ArmFromSpec("x=kill@0").ok());
  EXPECT_FALSE(ArmFromSpec("x=kill@two").ok());
  EXPECT_FALSE(ArmFromSpec("=kill").ok());
  EXPECT_FALSE(Arm(std::string(48, 'x'), Action::kKill).ok());
}

TEST_F(FaultInjectionTest, ForksCountHitsTogether) {
  ASSERT_TRUE(Arm("shared", Action::kStall, 3).ok());
  for (int child = 0; child < 2; ++child) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(At("shared") == Action::kNone ? 0 : 1);  // hits 1 and 2
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  EXPECT_EQ(At("shared"), Action::kStall);  // hit 3, here
  EXPECT_EQ(Hits("shared"), 3);
}

}  // namespace
}  // namespace ray::faults
