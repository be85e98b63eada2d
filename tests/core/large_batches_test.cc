// Batches larger than one message between the scheduler and a worker may take (worker.capnp's
// maxFrameBytes): the senders split them, and a task's values past its inline budget go through
// the store. Real processes.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "ray/api.h"
#include "ray/api/internal/serialization.h"
#include "ray/core_worker/driver_runtime.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {
namespace {

// Values just under the inline limit: as many of them as possible travel in messages.
constexpr size_t kValueBytes = kInlineLimit - 1024;

void Unused() {}

// Writes `count` returns (its argument), return i filled with the byte i % 251.
absl::Status ManyReturnsInvoker(const void*, std::span<const ObjectValue> args, ReturnWriter& out) {
  int count = Deserialize<int>(args[0].bytes).value();
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<std::span<uint8_t>> bytes = out.Allocate(i, kValueBytes);
    if (!bytes.ok()) return bytes.status();
    std::memset(bytes->data(), i % 251, bytes->size());
  }
  return absl::OkStatus();
}

// Returns the sum of its arguments' bytes, however many arguments.
absl::Status SumOfBytesInvoker(const void*, std::span<const ObjectValue> args, ReturnWriter& out) {
  int64_t sum = 0;
  for (const ObjectValue& arg : args)
    sum = std::accumulate(arg.bytes.begin(), arg.bytes.end(), sum);
  std::string result = Serialize(sum);
  absl::StatusOr<std::span<uint8_t>> bytes = out.Allocate(0, result.size());
  if (!bytes.ok()) return bytes.status();
  std::memcpy(bytes->data(), result.data(), result.size());
  return absl::OkStatus();
}

// Puts `count` values that travel inline, then gets them all back: the puts reach the scheduler
// and the reply comes back in several messages. Returns the sum of their bytes.
int64_t PutManyAndGetThemBack(int count) {
  std::vector<ray::ObjectRef<std::vector<uint8_t>>> refs;
  for (int i = 0; i < count; ++i) {
    refs.push_back(ray::Put(std::vector<uint8_t>(kValueBytes - 64, static_cast<uint8_t>(i))));
  }
  int64_t sum = 0;
  for (const auto& value : ray::Get(refs)) sum = std::accumulate(value.begin(), value.end(), sum);
  return sum;
}

ObjectID PutBytes(CoreRuntime& runtime, uint8_t byte) {
  return runtime
      .Put(kValueBytes, [&](std::span<uint8_t> out) { std::memset(out.data(), byte, out.size()); },
           {})
      .value();
}

class LargeBatchesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto runtime = DriverRuntime::Start({.num_workers = 1, .object_store_memory = 1ull << 30});
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = *std::move(runtime);
    SetCurrentRuntime(runtime_.get());
    first_worker_ = runtime_->worker_pids().at(0);
  }
  void TearDown() override {
    SetCurrentRuntime(nullptr);
    runtime_.reset();
  }

  std::unique_ptr<DriverRuntime> runtime_;
  pid_t first_worker_ = 0;
};

// Before, a task's results went in one message, and more than 512 MiB of them (legal: up to
// 10,000 returns of up to 64 KiB each) made the scheduler drop the worker, again and again.
TEST_F(LargeBatchesTest, ResultsBeyondOneMessageArrive) {
  constexpr int kCount = 9'000;  // 9,000 values of 63 KiB: 567 MB
  static_assert(kCount * kValueBytes > (size_t{512} << 20));
  TaskSpec spec{&ManyReturnsInvoker, reinterpret_cast<const void*>(&Unused), {}, {}};
  spec.args.push_back({ObjectID(), Serialize(kCount)});
  spec.options.num_returns = kCount;
  std::vector<ObjectID> ids = runtime_->Submit(std::move(spec)).value();
  std::vector<ObjectValue> values = runtime_->Get(ids, absl::Seconds(120)).value();
  ASSERT_EQ(values.size(), size_t{kCount});
  for (int i = 0; i < kCount; i += 997) {
    ASSERT_EQ(values[i].bytes.size(), kValueBytes);
    EXPECT_EQ(values[i].bytes.front(), i % 251);
    EXPECT_EQ(values[i].bytes.back(), i % 251);
  }
  EXPECT_EQ(runtime_->worker_pids(), std::vector<pid_t>{first_worker_});  // never dropped
}

TEST_F(LargeBatchesTest, ArgumentsBeyondOneMessageArrive) {
  constexpr int kCount = 1'500;  // 94 MB of objects the scheduler holds inline
  static_assert(kCount * kValueBytes > rpc::MAX_FRAME_BYTES);
  TaskSpec spec{&SumOfBytesInvoker, reinterpret_cast<const void*>(&Unused), {}, {}};
  int64_t expected = 0;
  for (int i = 0; i < kCount; ++i) {
    spec.args.push_back({PutBytes(*runtime_, i % 7), ""});
    expected += int64_t{i % 7} * kValueBytes;
  }
  ObjectID sum = runtime_->Submit(std::move(spec)).value()[0];
  auto value = Deserialize<int64_t>(runtime_->Get({&sum, 1}, absl::Seconds(120)).value()[0].bytes);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, expected);
}

TEST_F(LargeBatchesTest, PutsAndGetsBeyondOneMessageArrive) {
  constexpr int kCount = 1'500;
  static_assert(kCount * kValueBytes > rpc::MAX_FRAME_BYTES);
  int64_t expected = 0;
  for (int i = 0; i < kCount; ++i) expected += int64_t{i % 256} * (kValueBytes - 64);
  EXPECT_EQ(ray::Remote(PutManyAndGetThemBack)(kCount).Get(absl::Seconds(120)), expected);
}

}  // namespace
}  // namespace ray::core
