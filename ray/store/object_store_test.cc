// The store's rules (allocation, pins, LRU eviction, deferred deletes) without processes.
#include "ray/store/object_store.h"

#include <gtest/gtest.h>

#include <cstring>

namespace ray::store {
namespace {

std::vector<uint8_t> Bytes(size_t n, uint8_t fill) { return std::vector<uint8_t>(n, fill); }

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = ObjectStore::Create({.capacity = 64 * 1024, .max_objects = 64});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto client = store_->AddClient("test");
    ASSERT_TRUE(client.ok());
    client_ = *client;
    index_ = *ObjectIndex::Attach(store_->index_memory().data(), store_->index_memory().size());
  }
  std::atomic<uint32_t>* Pins() {
    return reinterpret_cast<std::atomic<uint32_t>*>(store_->pins(client_).data());
  }

  std::unique_ptr<ObjectStore> store_;
  ClientId client_ = 0;
  std::optional<ObjectIndex> index_;
};

TEST_F(ObjectStoreTest, CreateSealAndFindThroughTheSharedIndex) {
  ObjectID id = ObjectID::FromRandom();
  auto snap = store_->CreateObject(client_, id, 100);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->offset % 64, 0u);
  EXPECT_EQ(Pins()[snap->record].load(), 1u);  // the creator's pin
  EXPECT_EQ(index_->Find(id)->state, ObjectState::kCreated);
  EXPECT_FALSE(store_->Contains(id));
  ASSERT_TRUE(store_->Seal(client_, id).ok());
  EXPECT_TRUE(store_->Contains(id));
  EXPECT_EQ(store_->Seal(client_, id).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->CreateObject(client_, id, 1).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(ObjectStoreTest, OnlyTheCreatorSealsOrAborts) {
  ClientId other = *store_->AddClient("other");
  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE(store_->CreateObject(client_, id, 10).ok());
  EXPECT_EQ(store_->Seal(other, id).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->Abort(other, id).code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(store_->Abort(client_, id).ok());
  EXPECT_FALSE(index_->Find(id).has_value());
  EXPECT_EQ(store_->Stats().used, 0u);
}

TEST_F(ObjectStoreTest, EvictsLeastRecentlyUsedFirstAndNeverAPinnedObject) {
  // Eight 8 KiB objects fill the 64 KiB arena.
  std::vector<ObjectID> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(ObjectID::FromRandom());
    ASSERT_TRUE(store_->PutSealed(client_, ids.back(), Bytes(8192, i), {.evictable = true}).ok());
  }
  auto pinned = store_->PinSealed(client_, ids[0]);  // oldest, but pinned
  ASSERT_TRUE(pinned.has_value());
  store_->PinSealed(client_, ids[1]);  // read recently, then released
  Pins()[index_->Find(ids[1])->record].fetch_sub(1);

  ObjectID fresh = ObjectID::FromRandom();
  ASSERT_TRUE(store_->PutSealed(client_, fresh, Bytes(8192, 99), {.evictable = true}).ok());
  EXPECT_TRUE(store_->Contains(ids[0])) << "a pinned object was evicted";
  EXPECT_TRUE(store_->Contains(ids[1])) << "a recently read object went before older ones";
  EXPECT_FALSE(store_->Contains(ids[2])) << "the least recently used object should go first";
  EXPECT_TRUE(store_->Contains(ids[3]));
  EXPECT_EQ(store_->Stats().evictions, 1u);
  // The pinned object's bytes are intact.
  EXPECT_EQ(store_->arena().data()[pinned->offset], 0);
}

TEST_F(ObjectStoreTest, FullWhenEverythingIsPinned) {
  std::vector<ObjectID> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(ObjectID::FromRandom());
    ASSERT_TRUE(store_->CreateObject(client_, ids.back(), 8192).ok());  // pinned by creator
  }
  auto full = store_->CreateObject(client_, ObjectID::FromRandom(), 64);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(full.status().message().find("ObjectStoreFull"), absl::string_view::npos);
  auto too_big = store_->CreateObject(client_, ObjectID::FromRandom(), 1 << 20);
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kResourceExhausted);
  // A small put that does not fit is recorded as failed, so readers get an error.
  ObjectID failed = ObjectID::FromRandom();
  EXPECT_EQ(store_->PutSealed(client_, failed, Bytes(10, 1)).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(index_->Find(failed)->state, ObjectState::kFailed);
}

TEST_F(ObjectStoreTest, DeleteWaitsForTheLastPin) {
  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE(store_->PutSealed(client_, id, Bytes(100, 7)).ok());
  auto snap = store_->PinSealed(client_, id);
  ASSERT_TRUE(store_->Delete(client_, id).ok());
  EXPECT_TRUE(store_->Contains(id)) << "deleted while pinned";
  EXPECT_TRUE(index_->Find(id)->flags & kDeletePending);
  Pins()[snap->record].fetch_sub(1);
  store_->OnReleased(snap->record);
  EXPECT_FALSE(store_->Contains(id));
  EXPECT_EQ(store_->Delete(client_, id).code(), absl::StatusCode::kNotFound);
}

TEST_F(ObjectStoreTest, RemovingAClientDropsItsPinsAndAbortsItsUnsealedObjects) {
  ClientId other = *store_->AddClient("doomed");
  ObjectID unsealed = ObjectID::FromRandom();
  ObjectID held = ObjectID::FromRandom();
  ASSERT_TRUE(store_->CreateObject(other, unsealed, 1000).ok());
  ASSERT_TRUE(store_->PutSealed(client_, held, Bytes(100, 1)).ok());
  ASSERT_TRUE(store_->PinSealed(other, held).has_value());
  ASSERT_TRUE(store_->Delete(client_, held).ok());
  EXPECT_TRUE(store_->Contains(held));
  store_->RemoveClient(other);
  EXPECT_FALSE(index_->Find(unsealed).has_value());
  EXPECT_FALSE(store_->Contains(held));
  EXPECT_EQ(store_->Stats().used, 0u);
}

TEST_F(ObjectStoreTest, IndexSurvivesChurnWithBackwardShiftDeletes) {
  // More inserts and deletes than records: every live object must stay findable.
  std::vector<ObjectID> live;
  for (int round = 0; round < 2000; ++round) {
    ObjectID id = ObjectID::FromRandom();
    ASSERT_TRUE(store_->PutSealed(client_, id, Bytes(1, 1)).ok());
    live.push_back(id);
    if (live.size() > 40) {
      size_t victim = (round * 7) % live.size();
      ASSERT_TRUE(store_->Delete(client_, live[victim]).ok());
      live.erase(live.begin() + victim);
    }
    if (round % 100 == 0) {
      for (const ObjectID& l : live) ASSERT_TRUE(store_->Contains(l));
    }
  }
  EXPECT_EQ(store_->Stats().objects, live.size());
}

TEST_F(ObjectStoreTest, ObjectsNotEvictableStayAndANewOneFailsAsFull) {
  std::vector<ObjectID> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(ObjectID::FromRandom());
    ASSERT_TRUE(store_->PutSealed(client_, ids.back(), Bytes(8192, i)).ok());
  }
  auto full = store_->CreateObject(client_, ObjectID::FromRandom(), 8192);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  for (const ObjectID& id : ids) EXPECT_TRUE(store_->Contains(id)) << "evicted";
  EXPECT_EQ(store_->Stats().evictions, 0u);
  // Room comes back once one is deleted.
  ASSERT_TRUE(store_->Delete(client_, ids[3]).ok());
  EXPECT_TRUE(store_->CreateObject(client_, ObjectID::FromRandom(), 8192).ok());
}

TEST(ObjectStoreOwnerTest, OnlyTheCreatorOrTheOwnerDeletesAnObjectThatIsNotEvictable) {
  auto store = ObjectStore::Create(
      {.capacity = 64 * 1024, .max_objects = 64, .owner_token = "s3cret-token"});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->AddClient("thief", "guessed-token").status().code(),
            absl::StatusCode::kPermissionDenied);
  ClientId owner = *(*store)->AddClient("owner", "s3cret-token");
  ClientId creator = *(*store)->AddClient("creator");
  ClientId other = *(*store)->AddClient("other");
  ObjectID kept = ObjectID::FromRandom();
  ObjectID cached = ObjectID::FromRandom();
  ObjectID own = ObjectID::FromRandom();
  ASSERT_TRUE((*store)->PutSealed(creator, kept, Bytes(10, 1)).ok());
  ASSERT_TRUE((*store)->PutSealed(creator, cached, Bytes(10, 1), {.evictable = true}).ok());
  ASSERT_TRUE((*store)->PutSealed(creator, own, Bytes(10, 1)).ok());
  absl::Status refused = (*store)->Delete(other, kept);
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;
  EXPECT_TRUE((*store)->Contains(kept));
  EXPECT_TRUE((*store)->Delete(other, cached).ok()) << "anyone may drop a cached copy";
  EXPECT_TRUE((*store)->Delete(owner, kept).ok());
  EXPECT_TRUE((*store)->Delete(creator, own).ok());
  EXPECT_FALSE((*store)->Contains(kept));
  EXPECT_FALSE((*store)->Contains(own));
}

TEST_F(ObjectStoreTest, AnObjectRemovedUnsealedIsReported) {
  std::vector<ObjectID> aborted;
  store_->SetAbortCallback([&](const ObjectID& id) { aborted.push_back(id); });
  ClientId other = *store_->AddClient("doomed");
  ObjectID a = ObjectID::FromRandom();
  ObjectID b = ObjectID::FromRandom();
  ASSERT_TRUE(store_->CreateObject(client_, a, 10).ok());
  ASSERT_TRUE(store_->CreateObject(other, b, 10).ok());
  ASSERT_TRUE(store_->Abort(client_, a).ok());
  store_->RemoveClient(other);
  EXPECT_EQ(aborted, (std::vector<ObjectID>{a, b}));
}

TEST(ObjectStoreClientsTest, ClientsPastTheCapAreRefusedUntilOneLeaves) {
  auto store = ObjectStore::Create({.capacity = 64 * 1024, .max_objects = 64, .max_clients = 2});
  ASSERT_TRUE(store.ok()) << store.status();
  auto first = (*store)->AddClient("first");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*store)->AddClient("second").ok());
  auto third = (*store)->AddClient("third");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  (*store)->RemoveClient(*first);
  EXPECT_TRUE((*store)->AddClient("third").ok());
}

}  // namespace
}  // namespace ray::store
