// The session owner's errors, in local mode (no processes): start twice, shut down twice, start
// in a process that has a runtime it did not start (a worker).
#include "ray/core_worker/session.h"

#include "gtest/gtest.h"
#include "ray/core_worker/local_runtime.h"

namespace ray::core {
namespace {

TEST(SessionTest, StartTwiceIsAlreadyExists) {
  ASSERT_TRUE(StartSession({.local_mode = true}, AtExit::kNothing).ok());
  EXPECT_TRUE(InSession());
  EXPECT_NE(SessionGate(), nullptr);
  EXPECT_EQ(SessionNode(), nullptr);  // local mode: no node
  EXPECT_EQ(CurrentRuntime(), SessionGate());
  absl::Status again = StartSession({.local_mode = true}, AtExit::kNothing);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "ray is already initialized");
  ShutdownSession();
  EXPECT_FALSE(InSession());
  EXPECT_EQ(CurrentRuntime(), nullptr);
}

TEST(SessionTest, ShutdownTwiceAndWithoutSessionDoNothing) {
  ShutdownSession();
  ASSERT_TRUE(StartSession({.local_mode = true}, AtExit::kNothing).ok());
  int blocking_calls = 0;
  ShutdownSession([&](absl::FunctionRef<void()> wait) {
    ++blocking_calls;
    wait();
  });
  EXPECT_EQ(blocking_calls, 1);
  ShutdownSession([&](absl::FunctionRef<void()> wait) { ++blocking_calls; });
  EXPECT_EQ(blocking_calls, 1);
  // A new session after the old one.
  ASSERT_TRUE(StartSession({.local_mode = true}, AtExit::kNothing).ok());
  ShutdownSession();
}

TEST(SessionTest, StartInAWorkerIsFailedPrecondition) {
  LocalRuntime worker_runtime;  // stands for a worker's runtime: not one a session started
  SetCurrentRuntime(&worker_runtime);
  absl::Status status = StartSession({.local_mode = true}, AtExit::kNothing);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "this process is a ray worker: ray is initialized");
  EXPECT_FALSE(InSession());
  ShutdownSession();  // not the session's runtime: left alone
  EXPECT_EQ(CurrentRuntime(), &worker_runtime);
  SetCurrentRuntime(nullptr);
}

TEST(SessionTest, OptionsOutOfLimitsAreInvalidArgument) {
  absl::Status status = StartSession({.local_mode = true, .max_workers = -1}, AtExit::kNothing);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "max_workers = -1: a node's limit on workers is 0 to 4096 (0: 256)");
  EXPECT_FALSE(InSession());
  // Nothing was left half started.
  ASSERT_TRUE(StartSession({.local_mode = true}, AtExit::kNothing).ok());
  ShutdownSession();
}

}  // namespace
}  // namespace ray::core
