// Seal notifications: a subscriber hears of every object another process seals, once, and
// of nothing that was aborted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "ray/store/client.h"
#include "tests/store/store_process.h"
#include "tests/store/test_util.h"

namespace ray::store {
namespace {

using ::ray::testing::Channel;
using ::ray::testing::ChildProcess;

// Collects notified IDs; waits (bounded) for a given one.
class SealLog {
 public:
  void Add(std::span<const ObjectID> ids) {
    absl::MutexLock lock(&mu_);
    seen_.insert(seen_.end(), ids.begin(), ids.end());
  }
  bool WaitFor(const ObjectID& id, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto seen = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return std::find(seen_.begin(), seen_.end(), id) != seen_.end();
    };
    return mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
  }
  std::vector<ObjectID> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }

 private:
  absl::Mutex mu_;
  std::vector<ObjectID> seen_ ABSL_GUARDED_BY(mu_);
};

TEST(SubscribeTest, SubscriberHearsOfObjectsSealedByAnotherProcess) {
  testing::StoreProcess store({"--capacity=64M", "--max_objects=4096"});
  ASSERT_TRUE(store.ready());
  const TaskID task = TaskID::FromRandom();
  constexpr int kObjects = 50;
  std::vector<ObjectID> ids;
  for (int i = 0; i < kObjects; ++i) ids.push_back(ObjectID::ForPut(task, i + 1));
  const ObjectID aborted = ObjectID::ForPut(task, 1000);
  const ObjectID last = ObjectID::ForPut(task, 1001);

  // The producer: small puts, large puts, create + seal, one create + abort, then `last`.
  ChildProcess producer([&](Channel& channel) {
    CHILD_CHECK(channel.Expect('g'));
    auto client = StoreClient::Connect(store.socket_path(), {.name = "producer"});
    CHILD_CHECK(client.ok(), client.status());
    for (int i = 0; i < kObjects; ++i) {
      if (i % 3 == 2) {
        auto object = (*client)->Create(ids[i], 1000);
        CHILD_CHECK(object.ok(), object.status());
        std::memset(object->data(), i, 1000);
        CHILD_CHECK((*client)->Seal(*std::move(object)).ok());
      } else {
        std::vector<uint8_t> data(i % 3 == 0 ? 100 : 200'000, static_cast<uint8_t>(i));
        absl::Status status = (*client)->Put(ids[i], data);
        CHILD_CHECK(status.ok(), status);
      }
      if (i == kObjects / 2) {
        auto object = (*client)->Create(aborted, 5000);
        CHILD_CHECK(object.ok(), object.status());
        absl::Status status = (*client)->Abort(*std::move(object));
        CHILD_CHECK(status.ok(), status);
      }
    }
    CHILD_CHECK((*client)->Put(last, std::vector<uint8_t>(10, 1)).ok());
    absl::Status flushed = (*client)->Flush();
    CHILD_CHECK(flushed.ok(), flushed);
    return 0;
  });

  auto subscriber = StoreClient::Connect(store.socket_path(), {.name = "subscriber"});
  ASSERT_TRUE(subscriber.ok()) << subscriber.status();
  SealLog log;
  ASSERT_TRUE((*subscriber)->Subscribe([&](std::span<const ObjectID> ids) { log.Add(ids); }).ok());
  // A second subscriber that goes away early must not disturb the first one.
  {
    auto quitter = StoreClient::Connect(store.socket_path(), {.name = "quitter"});
    ASSERT_TRUE(quitter.ok()) << quitter.status();
    ASSERT_TRUE((*quitter)->Subscribe([](std::span<const ObjectID>) {}).ok());
  }

  ASSERT_TRUE(producer.channel().Send('g'));
  EXPECT_TRUE(producer.ExitedOk()) << "the producer failed (see its stderr)";
  std::vector<ObjectID> expected = ids;
  expected.push_back(last);
  for (const ObjectID& id : expected) {
    ASSERT_TRUE(log.WaitFor(id, absl::Seconds(30))) << "no notification for " << id.Hex();
  }

  // Each exactly once. The order is not checked: one batch of the producer's operations
  // applies its small puts before the seals queued with them.
  std::vector<ObjectID> seen = log.seen();
  std::sort(seen.begin(), seen.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(std::find(seen.begin(), seen.end(), aborted), seen.end());
  EXPECT_TRUE(store.alive());
}

TEST(SubscribeTest, SubscriberHearsOfItsOwnAndLaterSeals) {
  testing::StoreProcess store({"--capacity=16M"});
  ASSERT_TRUE(store.ready());
  auto client = StoreClient::Connect(store.socket_path());
  ASSERT_TRUE(client.ok()) << client.status();
  ObjectID before = ObjectID::FromRandom();
  ASSERT_TRUE((*client)->Put(before, std::vector<uint8_t>(10, 1)).ok());
  ASSERT_TRUE((*client)->Flush().ok());

  SealLog log;
  ASSERT_TRUE((*client)->Subscribe([&](std::span<const ObjectID> ids) { log.Add(ids); }).ok());
  ObjectID after = ObjectID::FromRandom();
  ASSERT_TRUE((*client)->Put(after, std::vector<uint8_t>(10, 1)).ok());
  ASSERT_TRUE(log.WaitFor(after, absl::Seconds(30)));
  // Only seals after subscribing are reported.
  EXPECT_EQ(log.seen(), std::vector<ObjectID>{after});
}

}  // namespace
}  // namespace ray::store
