#include "ray/core_worker/limits.h"

#include <cmath>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {
namespace {

absl::Status Check(int num_returns, double num_cpus, int max_retries) {
  SubmitOptions options{
      .num_returns = num_returns, .num_cpus = num_cpus, .max_retries = max_retries};
  return CheckSubmitOptions(&options);
}

TEST(LimitsTest, TaskOptionsInRangePass) {
  EXPECT_TRUE(Check(1, 0, 0).ok());
  EXPECT_TRUE(Check(kMaxNumReturns, kMaxNumCpus, 1000).ok());
  EXPECT_TRUE(Check(3, 0.5, 3).ok());
}

TEST(LimitsTest, TaskOptionsOutOfRangeAreRefusedWithTheirLimit) {
  EXPECT_EQ(Check(1'000'000'000, 1, 3).message(),
            "num_returns = 1000000000: a task returns from 1 to 10000 objects");
  EXPECT_EQ(Check(0, 1, 3).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Check(1, 1, -5).message(),
            "max_retries = -5: it must be >= 0, or -1 to retry without limit");
  EXPECT_EQ(Check(1, 1e9, 3).message(),
            "num_cpus = 1e+09: a task asks for 0 to 65536 CPUs (one that asks for more than the "
            "node has runs when all of them are free)");
  EXPECT_FALSE(Check(1, -1, 3).ok());
  EXPECT_FALSE(Check(1, std::nan(""), 3).ok());
  EXPECT_FALSE(Check(1, std::numeric_limits<double>::infinity(), 3).ok());
}

TEST(LimitsTest, RetryForeverBecomesTheLargestCount) {
  SubmitOptions options{.max_retries = kRetryForever};
  ASSERT_TRUE(CheckSubmitOptions(&options).ok());
  EXPECT_EQ(options.max_retries, std::numeric_limits<int>::max());
  options.max_retries = 2;
  ASSERT_TRUE(CheckSubmitOptions(&options).ok());
  EXPECT_EQ(options.max_retries, 2);
}

TEST(LimitsTest, NodeOptionsOutOfRangeAreRefused) {
  EXPECT_TRUE(CheckNodeOptions(0, 0).ok());
  EXPECT_TRUE(CheckNodeOptions(kMaxNumWorkers, kMaxNumCpus).ok());
  EXPECT_EQ(CheckNodeOptions(1'000'000'000, 0).message(),
            "num_workers = 1000000000: a node starts 0 to 1024 workers (0: one per core)");
  EXPECT_EQ(CheckNodeOptions(0, 1e9).message(),
            "num_cpus = 1e+09: a node has 0 to 65536 CPUs (0: num_workers)");
  EXPECT_FALSE(CheckNodeOptions(-1, 0).ok());
  EXPECT_FALSE(CheckNodeOptions(0, -2).ok());
}

TEST(LimitsTest, SessionOptionsOutOfRangeAreRefused) {
  EXPECT_TRUE(CheckSessionOptions({}).ok());
  EXPECT_EQ(CheckSessionOptions({.num_workers = -1}).message(),
            "num_workers = -1: a node starts 0 to 1024 workers (0: one per core)");
  EXPECT_EQ(CheckSessionOptions({.max_workers = 5000}).message(),
            "max_workers = 5000: a node's limit on workers is 0 to 4096 (0: 256)");
  EXPECT_EQ(CheckSessionOptions({.idle_worker_timeout = absl::ZeroDuration()}).message(),
            "idle_worker_timeout = 0: it must be more than 0");
  EXPECT_EQ(CheckSessionOptions({.worker_stall_timeout = absl::Seconds(1)}).message(),
            "worker_stall_timeout = 1s: at least 2s (a worker that holds tasks sends a heartbeat "
            "every second)");
  EXPECT_TRUE(CheckSessionOptions({.worker_stall_timeout = absl::Seconds(2)}).ok());
  EXPECT_EQ(kMaxSessionDirRootLength, 77u);
  EXPECT_TRUE(CheckSessionOptions({.session_dir_root = std::string(77, 'a')}).ok());
  EXPECT_EQ(CheckSessionOptions({.session_dir_root = std::string(78, 'a')}).message(),
            std::string("session_dir_root = ") + std::string(78, 'a') +
                ": at most 77 bytes (the store's socket in it needs a unix socket address)");
}

TEST(LimitsTest, DefaultStoreMemoryIsCappedByWhatIsAvailable) {
  constexpr uint64_t kGiB = uint64_t{1} << 30;
  // A 24 GiB host with 20 GiB free: 30% of its memory.
  EXPECT_EQ(DefaultStoreMemory(24 * kGiB, 20 * kGiB), (24 * kGiB / 10 * 3) / 4096 * 4096);
  // Four drivers' stores later, 4 GiB free: half of that, not another 7.2 GiB.
  EXPECT_EQ(DefaultStoreMemory(24 * kGiB, 4 * kGiB), 2 * kGiB);
  // Nothing free (or no /proc/meminfo): the floor.
  EXPECT_EQ(DefaultStoreMemory(24 * kGiB, 0), uint64_t{64} << 20);
}

TEST(LimitsTest, ACallNamesAtMostOneMessageOfObjects) {
  EXPECT_TRUE(CheckIdCount(rpc::MAX_IDS_PER_LIST, "a put").ok());
  absl::Status past = CheckIdCount(rpc::MAX_IDS_PER_LIST + 1, "a put");
  EXPECT_EQ(past.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(past.message(), "a put names at most 1048576 objects (1048577 given)");
}

}  // namespace
}  // namespace ray::core
