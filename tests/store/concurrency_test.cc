// Several client processes putting and reading each other's objects at once, against one
// real ray_store.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "ray/store/client.h"
#include "tests/store/store_process.h"
#include "tests/store/test_util.h"

namespace ray::store {
namespace {

using ::ray::testing::Channel;
using ::ray::testing::CheckPattern;
using ::ray::testing::ChildProcess;
using ::ray::testing::FillPattern;

constexpr int kChildren = 4;
constexpr int kObjectsPerChild = 40;

// Sizes on both sides of the small-object limit (batched puts vs. in-place writes),
// including empty objects and ones not a multiple of 8 or 64 bytes.
uint64_t SizeOf(int child, int index) {
  static constexpr uint64_t kSizes[] = {0,
                                        1,
                                        100,
                                        4093,
                                        StoreClient::kSmallObjectLimit - 1,
                                        StoreClient::kSmallObjectLimit,
                                        StoreClient::kSmallObjectLimit + 1,
                                        300'001,
                                        (1 << 20) + 3,
                                        2 << 20};
  return kSizes[(child * 7 + index) % std::size(kSizes)];
}

uint64_t SeedOf(int child, int index) { return (uint64_t(child) << 32) | uint64_t(index + 1); }

std::vector<ObjectID> IdsOf(const TaskID& task) {
  std::vector<ObjectID> ids;
  for (int j = 0; j < kObjectsPerChild; ++j) ids.push_back(ObjectID::ForPut(task, j + 1));
  return ids;
}

// One child: puts its objects from one thread while another thread reads everybody else's,
// each read waiting for the object to be sealed.
int RunChild(const std::string& socket, int me, const std::vector<TaskID>& tasks) {
  auto client = StoreClient::Connect(socket, {.name = absl::StrCat("child", me)});
  CHILD_CHECK(client.ok(), client.status());

  struct Wanted {
    ObjectID id;
    int child;
    int index;
  };
  std::vector<Wanted> wanted;  // the others' objects
  for (int c = 0; c < kChildren; ++c) {
    if (c == me) continue;
    std::vector<ObjectID> ids = IdsOf(tasks[c]);
    for (int j = 0; j < kObjectsPerChild; ++j) wanted.push_back({ids[j], c, j});
  }
  std::shuffle(wanted.begin(), wanted.end(), std::mt19937(me));

  std::thread reader([&] {
    // Half one at a time, half in a single batched Get.
    size_t half = wanted.size() / 2;
    auto check = [&](const absl::StatusOr<ObjectBuffer>& got, const Wanted& w) {
      CHILD_CHECK(got.ok(), "object ", w.id.Hex(), ": ", got.status());
      CHILD_CHECK(got->size() == SizeOf(w.child, w.index), got->size());
      std::string diff = CheckPattern(SeedOf(w.child, w.index), got->span());
      CHILD_CHECK(diff.empty(), diff);
    };
    for (size_t i = 0; i < half; ++i) {
      // The timeout only guards against a hang; every object does arrive.
      check((*client)->Get(wanted[i].id, absl::Seconds(60)), wanted[i]);
    }
    std::vector<ObjectID> batch;
    for (size_t i = half; i < wanted.size(); ++i) batch.push_back(wanted[i].id);
    auto results = (*client)->Get(batch, absl::Seconds(60));
    CHILD_CHECK(results.size() == batch.size());
    for (size_t i = half; i < wanted.size(); ++i) check(results[i - half], wanted[i]);
  });

  std::vector<ObjectID> mine = IdsOf(tasks[me]);
  for (int j = 0; j < kObjectsPerChild; ++j) {
    std::vector<uint8_t> data(SizeOf(me, j));
    FillPattern(SeedOf(me, j), data);
    absl::Status status = (*client)->Put(mine[j], data);
    CHILD_CHECK(status.ok(), status);
  }
  absl::Status flushed = (*client)->Flush();
  CHILD_CHECK(flushed.ok(), flushed);
  reader.join();
  // Our own objects read back as written too.
  for (int j = 0; j < kObjectsPerChild; ++j) {
    auto got = (*client)->Get(mine[j], absl::Seconds(10));
    CHILD_CHECK(got.ok(), got.status());
    std::string diff = CheckPattern(SeedOf(me, j), got->span());
    CHILD_CHECK(diff.empty(), diff);
  }
  return 0;
}

TEST(ConcurrencyTest, ClientProcessesPutAndReadEachOthersObjects) {
  // Big enough that nothing is evicted: a reader waits for an evicted object forever.
  testing::StoreProcess store({"--capacity=256M", "--max_objects=4096"});
  ASSERT_TRUE(store.ready());
  std::vector<TaskID> tasks;
  for (int c = 0; c < kChildren; ++c) tasks.push_back(TaskID::FromRandom());

  // Each child waits for a start byte so that all of them put and read at the same time.
  std::vector<std::unique_ptr<ChildProcess>> children;
  for (int c = 0; c < kChildren; ++c) {
    children.push_back(std::make_unique<ChildProcess>([&, c](Channel& channel) {
      CHILD_CHECK(channel.Expect('g'));
      return RunChild(store.socket_path(), c, tasks);
    }));
  }
  for (auto& child : children) ASSERT_TRUE(child->channel().Send('g'));
  for (int c = 0; c < kChildren; ++c) {
    EXPECT_TRUE(children[c]->ExitedOk()) << "child " << c << " failed (see its stderr)";
  }

  ASSERT_TRUE(store.alive());
  auto client = StoreClient::Connect(store.socket_path());
  ASSERT_TRUE(client.ok()) << client.status();
  auto stats = (*client)->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->objects, kChildren * kObjectsPerChild);
  EXPECT_EQ(stats->evictions, 0u);
  for (int c = 0; c < kChildren; ++c) {
    for (const ObjectID& id : IdsOf(tasks[c])) {
      auto contains = (*client)->Contains(id);
      ASSERT_TRUE(contains.ok()) << contains.status();
      EXPECT_TRUE(*contains) << id.Hex();
    }
  }
}

TEST(ConcurrencyTest, GetWaitsForObjectsAnotherProcessPutsLater) {
  testing::StoreProcess store({"--capacity=64M"});
  ASSERT_TRUE(store.ready());
  const ObjectID small = ObjectID::FromRandom();
  const ObjectID large = ObjectID::FromRandom();
  ChildProcess producer([&](Channel& channel) {
    CHILD_CHECK(channel.Expect('g'));
    auto client = StoreClient::Connect(store.socket_path(), {.name = "producer"});
    CHILD_CHECK(client.ok(), client.status());
    std::vector<uint8_t> data(3 << 20);
    FillPattern(2, data);
    CHILD_CHECK((*client)->Put(large, data).ok());
    data.resize(10);
    FillPattern(1, data);
    CHILD_CHECK((*client)->Put(small, data).ok());
    absl::Status flushed = (*client)->Flush();
    CHILD_CHECK(flushed.ok(), flushed);
    return 0;
  });

  auto client = StoreClient::Connect(store.socket_path(), {.name = "consumer"});
  ASSERT_TRUE(client.ok()) << client.status();
  // Asked before anything exists, one ID twice; the producer starts once the Get is under way
  // (it may also beat the Get to the store: the answer is the same).
  std::vector<ObjectID> ids = {small, large, small};
  auto pending =
      std::async(std::launch::async, [&] { return (*client)->Get(ids, absl::Seconds(60)); });
  ASSERT_TRUE(producer.channel().Send('g'));
  auto results = pending.get();
  ASSERT_EQ(results.size(), 3u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status();
  EXPECT_EQ(CheckPattern(1, results[0]->span()), "");
  EXPECT_EQ(CheckPattern(2, results[1]->span()), "");
  EXPECT_EQ(CheckPattern(1, results[2]->span()), "");
  EXPECT_TRUE(producer.ExitedOk());
}

}  // namespace
}  // namespace ray::store
