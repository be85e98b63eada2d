// Eviction of evictable objects in a small real store: least recently used unpinned objects
// go first, pinned ones never do, and a store full of pinned objects refuses new ones with
// ObjectStoreFull.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ray/store/client.h"
#include "tests/store/store_process.h"
#include "tests/store/test_util.h"

namespace ray::store {
namespace {

using ::ray::testing::CheckPattern;
using ::ray::testing::FillPattern;

constexpr uint64_t kCapacity = 1 << 20;
constexpr uint64_t kObjectSize = 128 << 10;  // above the small-object limit: written in place
constexpr int kFit = kCapacity / kObjectSize;
// Only evictable objects are evicted (see kept_objects_test.cc for the others).
constexpr ObjectOptions kCached{.evictable = true};

class EvictionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.ready());
    auto client = StoreClient::Connect(store_.socket_path());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    ASSERT_EQ(client_->capacity(), kCapacity);
  }
  void TearDown() override { EXPECT_TRUE(store_.alive()) << "the store died"; }

  // Puts object `seed` (its bytes are the pattern for `seed`) and waits until it is sealed.
  ObjectID Put(uint64_t seed, uint64_t size = kObjectSize) {
    ObjectID id = ObjectID::FromRandom();
    std::vector<uint8_t> data(size);
    FillPattern(seed, data);
    EXPECT_TRUE(client_->Put(id, data, kCached).ok());
    EXPECT_TRUE(client_->Flush().ok());
    return id;
  }
  bool Contains(const ObjectID& id) {
    auto contains = client_->Contains(id);
    EXPECT_TRUE(contains.ok()) << contains.status();
    return contains.ok() && *contains;
  }
  StoreClientStats Stats() {
    auto stats = client_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : StoreClientStats{};
  }
  // Reads an object and drops the buffer at once: a use, no lasting pin.
  void Touch(const ObjectID& id, uint64_t seed) {
    auto got = client_->Get(id, absl::Seconds(10));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(CheckPattern(seed, got->span()), "");
  }

  testing::StoreProcess store_{{"--capacity=1M", "--max_objects=1024"}};
  std::unique_ptr<StoreClient> client_;
};

TEST_F(EvictionTest, LeastRecentlyUsedGoFirstAndRecentlyReadSurvive) {
  std::vector<ObjectID> first;
  for (int i = 0; i < kFit; ++i) first.push_back(Put(i));
  ASSERT_EQ(Stats().used, kCapacity);
  ASSERT_EQ(Stats().evictions, 0u);

  // Use the three oldest: now the three after them are the least recently used.
  for (int i = 0; i < 3; ++i) Touch(first[i], i);
  std::vector<ObjectID> more;
  for (int i = 0; i < 3; ++i) more.push_back(Put(100 + i));

  EXPECT_EQ(Stats().evictions, 3u);
  for (int i = 0; i < kFit; ++i) {
    EXPECT_EQ(Contains(first[i]), i < 3 || i >= 6) << "object " << i;
  }
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(Contains(more[i]));
  for (int i : {0, 1, 2, 6, 7}) Touch(first[i], i);
  for (int i = 0; i < 3; ++i) Touch(more[i], 100 + i);
}

TEST_F(EvictionTest, PinnedObjectSurvivesTheStoreFillingManyTimesOver) {
  ObjectID pinned_id = Put(42);
  auto pinned = client_->Get(pinned_id, absl::Seconds(10));
  ASSERT_TRUE(pinned.ok()) << pinned.status();

  // Ten times the capacity goes through the store; the pinned object is always the oldest.
  for (int i = 0; i < 10 * kFit; ++i) Put(1000 + i);
  EXPECT_GE(Stats().evictions, uint64_t{9 * kFit});
  EXPECT_TRUE(Contains(pinned_id));
  EXPECT_EQ(CheckPattern(42, pinned->span()), "");

  // Unpinned, it is the first to go.
  pinned->Release();
  Put(7);
  EXPECT_FALSE(Contains(pinned_id));
}

TEST_F(EvictionTest, StoreFullOfPinnedObjectsRefusesNewOnes) {
  std::vector<ObjectBuffer> pins;
  for (int i = 0; i < kFit; ++i) {
    auto got = client_->Get(Put(i), absl::Seconds(10));
    ASSERT_TRUE(got.ok()) << got.status();
    pins.push_back(*std::move(got));
  }

  auto created = client_->Create(ObjectID::FromRandom(), kObjectSize, kCached);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kResourceExhausted) << created.status();
  EXPECT_NE(created.status().message().find("ObjectStoreFull"), std::string::npos)
      << created.status();

  // Larger than the whole store: refused whatever is pinned.
  std::vector<uint8_t> huge(kCapacity + 1);
  absl::Status put_huge = client_->Put(ObjectID::FromRandom(), huge, kCached);
  EXPECT_EQ(put_huge.code(), absl::StatusCode::kResourceExhausted) << put_huge;
  EXPECT_NE(put_huge.message().find("ObjectStoreFull"), std::string::npos) << put_huge;

  EXPECT_EQ(Stats().evictions, 0u);
  for (int i = 0; i < kFit; ++i) EXPECT_EQ(CheckPattern(i, pins[i].span()), "");
  ASSERT_TRUE(store_.alive());

  // Release one pin: exactly that object makes room.
  ObjectID released = pins[3].id();
  pins[3].Release();
  ObjectID fits = Put(77);
  EXPECT_TRUE(Contains(fits));
  EXPECT_FALSE(Contains(released));
  EXPECT_EQ(Stats().evictions, 1u);

  // Full of pins again. A small put is batched: its error shows in Flush, and a reader gets
  // it instead of waiting for an object that will never come.
  auto got = client_->Get(fits, absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  pins[3] = *std::move(got);
  ObjectID small_id = ObjectID::FromRandom();
  std::vector<uint8_t> small(1000, 1);
  ASSERT_TRUE(client_->Put(small_id, small, kCached).ok());
  absl::Status flushed = client_->Flush();
  EXPECT_EQ(flushed.code(), absl::StatusCode::kResourceExhausted) << flushed;
  EXPECT_NE(flushed.message().find("ObjectStoreFull"), std::string::npos) << flushed;
  auto got_small = client_->Get(small_id, absl::Seconds(10));
  EXPECT_EQ(got_small.status().code(), absl::StatusCode::kResourceExhausted) << got_small.status();
  EXPECT_FALSE(Contains(small_id));
  EXPECT_EQ(Stats().used, kCapacity);
}

TEST_F(EvictionTest, ObjectOfExactlyTheCapacityEvictsEverythingUnpinned) {
  std::vector<ObjectID> ids;
  for (int i = 0; i < kFit; ++i) ids.push_back(Put(i));
  ObjectID whole = Put(5, kCapacity);
  for (const ObjectID& id : ids) EXPECT_FALSE(Contains(id));
  Touch(whole, 5);
  EXPECT_EQ(Stats().evictions, uint64_t{kFit});
}

}  // namespace
}  // namespace ray::store
