// Seal notifications: a subscriber hears of every object another process seals, once, and
// of nothing that was aborted; one that stops reading costs the store bounded memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "ray/store/client.h"
#include "tests/store/raw_session.h"
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

// Anonymous (heap) memory of a process in bytes, from /proc/PID/status; the store's shared
// memory (RssShmem) is left out: objects legitimately fill it.
uint64_t AnonymousMemory(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "RssAnon: %llu kB", &kib) == 1) return kib << 10;
  }
  return 0;
}

class IgnoredListener final : public rpc::SealListener::Server {
  kj::Promise<void> sealed(SealedContext) override { return kj::READY_NOW; }
};

// A subscriber that never reads again after subscribing: its event loop is not run.
std::unique_ptr<testing::RawSession> StalledSubscriber(const std::string& socket) {
  auto session = std::make_unique<testing::RawSession>(socket);
  auto request = session->session().subscribeRequest();
  request.setListener(kj::heap<IgnoredListener>());
  request.send().wait(session->wait_scope());
  return session;
}

constexpr int kSlowPuts = 20'000;
// Far above what the store needs for buffered notifications once they are bounded; far below
// what a notification queue per put grows to.
constexpr uint64_t kMemoryBound = 64 << 20;

// While `slow` reads nothing, another client puts kSlowPuts small objects, each in a message
// of its own (one notification per object): the store's heap stays within kMemoryBound, and
// a subscriber that keeps reading hears of every object.
void PutPastStalledSubscriber(testing::StoreProcess& store) {
  auto producer = StoreClient::Connect(store.socket_path(), {.name = "producer"});
  ASSERT_TRUE(producer.ok()) << producer.status();
  SealLog log;
  ASSERT_TRUE((*producer)->Subscribe([&](std::span<const ObjectID> ids) { log.Add(ids); }).ok());
  uint64_t before = AnonymousMemory(store.pid());
  ASSERT_GT(before, 0u) << "cannot read the store's RssAnon";
  const TaskID task = TaskID::FromRandom();
  for (int i = 1; i <= kSlowPuts; ++i) {
    ASSERT_TRUE((*producer)->Put(ObjectID::ForPut(task, i), std::vector<uint8_t>(64, 7)).ok());
    absl::Status flushed = (*producer)->Flush();
    ASSERT_TRUE(flushed.ok()) << flushed;
  }
  uint64_t after = AnonymousMemory(store.pid());
  ASSERT_GT(after, 0u) << "cannot read the store's RssAnon";
  EXPECT_LT(after, before + kMemoryBound) << "store grew from " << before << " to " << after;
  EXPECT_TRUE(log.WaitFor(ObjectID::ForPut(task, kSlowPuts), absl::Seconds(30)))
      << "a reading subscriber missed a notification";
}

// The store is up and serves a new client a put and a get.
void ExpectServes(testing::StoreProcess& store) {
  auto client = StoreClient::Connect(store.socket_path(), {.name = "after"});
  ASSERT_TRUE(client.ok()) << client.status();
  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE((*client)->Put(id, std::vector<uint8_t>(10, 1)).ok());
  auto got = (*client)->Get(id, absl::Seconds(30));
  EXPECT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(store.alive());
}

TEST(SlowSubscriberTest, StalledSubscriberCostsBoundedMemoryAndItsDisconnectIsHarmless) {
  testing::StoreProcess store({"--capacity=256M"});
  ASSERT_TRUE(store.ready());
  auto slow = StalledSubscriber(store.socket_path());
  PutPastStalledSubscriber(store);
  slow.reset();  // the stalled subscriber goes away with notifications in flight
  ExpectServes(store);
}

TEST(SlowSubscriberTest, SubscriberLaggingPastTheLimitIsDisconnected) {
  testing::StoreProcess store({"--capacity=256M", "--max_unsent_seals=1000"});
  ASSERT_TRUE(store.ready());
  auto slow = StalledSubscriber(store.socket_path());
  PutPastStalledSubscriber(store);
  // The stalled subscriber, reading again, finds its connection closed by the store.
  auto stats = slow->session().statsRequest().send();
  EXPECT_THROW(stats.wait(slow->wait_scope()), kj::Exception);
  ExpectServes(store);
}

}  // namespace
}  // namespace ray::store
