#include "ray/node/reference_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace ray::core {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

std::shared_ptr<const std::string> Inline(std::string bytes) {
  return std::make_shared<const std::string>(std::move(bytes));
}

// A put: registered with the putter's reference, then made.
ObjectID Put(ReferenceTable& table, std::shared_ptr<const std::string> value,
             std::vector<ObjectID> nested = {}) {
  ObjectID id = ObjectID::FromRandom();
  table.Register(id);
  table.MarkReady(id, value, value != nullptr ? value->size() : 100, std::move(nested));
  return id;
}

TEST(ReferenceTableTest, AnObjectIsFreedWithItsLastReference) {
  ReferenceTable table;
  ObjectID id = Put(table, Inline("x"));
  EXPECT_TRUE(table.AddRef(id));
  table.RemoveRef(id);
  EXPECT_TRUE(table.Contains(id));
  table.RemoveRef(id);
  EXPECT_FALSE(table.Contains(id));
  EXPECT_TRUE(table.ReadyOrGone(id));
}

TEST(ReferenceTableTest, AWatchedObjectIsReportedOnceWhenFreed) {
  ReferenceTable table;
  ObjectID watched = Put(table, Inline("handle"));
  ObjectID unwatched = Put(table, Inline("other"));
  ObjectID forgotten = Put(table, Inline("forgotten"));
  table.Watch(watched);
  table.Watch(forgotten);
  table.Unwatch(forgotten);
  // Freed as another object's nested reference too.
  ObjectID holder = Put(table, Inline("holder"), {watched});
  table.RemoveRef(watched);
  table.RemoveRef(unwatched);
  table.RemoveRef(forgotten);
  EXPECT_THAT(table.TakeFreedWatched(), IsEmpty());  // the holder keeps it
  table.RemoveRef(holder);
  EXPECT_THAT(table.TakeFreedWatched(), ElementsAre(watched));
  EXPECT_THAT(table.TakeFreedWatched(), IsEmpty());
}

TEST(ReferenceTableTest, AFreedObjectStaysGone) {
  ReferenceTable table;
  ObjectID id = Put(table, Inline("x"));
  table.RemoveRef(id);
  EXPECT_FALSE(table.AddRef(id));
  EXPECT_FALSE(table.Contains(id));
  EXPECT_EQ(table.AddUse(id, TaskID::FromRandom()), ReferenceTable::Use::kMissing);
}

TEST(ReferenceTableTest, AnObjectNotMadeYetStaysWithoutReferences) {
  ReferenceTable table;
  ObjectID id = ObjectID::FromRandom();
  table.Register(id);
  table.RemoveRef(id);  // the caller dropped its ref before the task ended
  ASSERT_TRUE(table.Contains(id));
  EXPECT_FALSE(table.ReadyOrGone(id));
  table.MarkReady(id, nullptr, 10);
  EXPECT_FALSE(table.Contains(id));  // made, and nothing keeps it
  EXPECT_THAT(table.TakeStoreDeletes(), ElementsAre(id));
}

TEST(ReferenceTableTest, AnObjectATaskReadsStaysUntilTheTaskEnds) {
  ReferenceTable table;
  ObjectID id = Put(table, nullptr);
  EXPECT_EQ(table.AddUse(id, TaskID::FromRandom()), ReferenceTable::Use::kReady);
  table.RemoveRef(id);
  EXPECT_TRUE(table.Contains(id));
  EXPECT_THAT(table.TakeStoreDeletes(), IsEmpty());
  table.ReleaseUse(id);
  EXPECT_FALSE(table.Contains(id));
  EXPECT_THAT(table.TakeStoreDeletes(), ElementsAre(id));
}

TEST(ReferenceTableTest, MarkReadyReturnsTheTasksThatWaitedForIt) {
  ReferenceTable table;
  ObjectID id = ObjectID::FromRandom();
  table.Register(id);
  TaskID a = TaskID::FromRandom(), b = TaskID::FromRandom();
  EXPECT_EQ(table.AddUse(id, a), ReferenceTable::Use::kPending);
  EXPECT_EQ(table.AddUse(id, b), ReferenceTable::Use::kPending);
  EXPECT_THAT(table.MarkReady(id, Inline("v"), 1), UnorderedElementsAre(a, b));
  EXPECT_EQ(table.Find(id)->uses, 2);
  EXPECT_EQ(*table.Find(id)->value, "v");
}

TEST(ReferenceTableTest, AResultReportedTwiceKeepsItsFirstValueAndCounts) {
  ReferenceTable table;
  ObjectID inner = Put(table, Inline("inner"));
  ObjectID result = ObjectID::FromRandom();
  table.Register(result);
  EXPECT_EQ(table.AddUse(result, TaskID::FromRandom()), ReferenceTable::Use::kPending);
  EXPECT_THAT(table.MarkReady(result, Inline("first"), 5, {inner}), testing::SizeIs(1));
  EXPECT_EQ(table.Find(inner)->refs, 2);
  // A retried attempt reports it again: nothing changes, no task is made ready twice.
  EXPECT_THAT(table.MarkReady(result, Inline("second"), 6, {inner}), IsEmpty());
  EXPECT_THAT(table.MarkReady(result, Inline("third"), 5), IsEmpty());
  EXPECT_EQ(*table.Find(result)->value, "first");
  EXPECT_EQ(table.Find(inner)->refs, 2);
}

TEST(ReferenceTableTest, NestedReferencesAreHeldUntilTheHolderIsFreed) {
  ReferenceTable table;
  ObjectID inner = Put(table, Inline("inner"));
  ObjectID gone = Put(table, Inline("gone"));
  table.RemoveRef(gone);
  ObjectID outer = Put(table, Inline("outer"), {inner, gone});
  EXPECT_EQ(table.Find(outer)->nested, std::vector<ObjectID>{inner});  // `gone` is not revived
  table.RemoveRef(inner);
  EXPECT_TRUE(table.Contains(inner));
  table.RemoveRef(outer);
  EXPECT_FALSE(table.Contains(outer));
  EXPECT_FALSE(table.Contains(inner));
  EXPECT_EQ(table.size(), 0u);
}

TEST(ReferenceTableTest, ALongChainOfNestedReferencesIsFreedWithoutRecursion) {
  ReferenceTable table;
  constexpr int kLength = 300'000;  // recursion this deep would overflow the stack
  ObjectID previous = Put(table, nullptr);
  for (int i = 1; i < kLength; ++i) {
    ObjectID next = Put(table, Inline("link"), {previous});
    table.RemoveRef(previous);  // only the next link keeps it
    previous = next;
  }
  EXPECT_EQ(table.size(), static_cast<size_t>(kLength));
  table.RemoveRef(previous);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.TakeStoreDeletes().size(), 1u);  // only the first link was in the store
}

TEST(ReferenceTableTest, StoreDeletesOnlyForObjectsInTheStore) {
  ReferenceTable table;
  ObjectID in_store = Put(table, nullptr);
  ObjectID inline_only = Put(table, Inline("small"));
  ObjectID copied = Put(table, Inline("copied"));
  table.SetStoreCopy(copied);
  table.RemoveRefs(std::vector<ObjectID>{in_store, inline_only, copied});
  EXPECT_EQ(table.size(), 0u);
  EXPECT_THAT(table.TakeStoreDeletes(), UnorderedElementsAre(in_store, copied));
  EXPECT_FALSE(table.HasStoreDeletes());
  ObjectID lost = ObjectID::FromRandom();
  table.QueueStoreDelete(lost);
  EXPECT_THAT(table.TakeStoreDeletes(), ElementsAre(lost));
}

TEST(ReferenceTableTest, AddRefsDropsObjectsItDoesNotHold) {
  ReferenceTable table;
  ObjectID held = Put(table, Inline("x"));
  std::vector<ObjectID> ids = {ObjectID::FromRandom(), held};
  table.AddRefs(ids);
  EXPECT_EQ(ids, std::vector<ObjectID>{held});
  EXPECT_EQ(table.Find(held)->refs, 2);
}

TEST(ReferenceTableTest, AWaiterIsCountedDownAsItsObjectsAreMade) {
  ReferenceTable table;
  ObjectID a = ObjectID::FromRandom(), b = ObjectID::FromRandom();
  table.Register(a);
  table.Register(b);
  ObjectID made = Put(table, Inline("m"));
  ObjectID missing = ObjectID::FromRandom();  // counts as ready: a get of it fails at once
  {
    ObjectWaiter all(table, std::vector<ObjectID>{a, b, made, missing}, 4);
    ObjectWaiter one(table, std::vector<ObjectID>{a, b}, 1);
    EXPECT_FALSE(all.satisfied());
    EXPECT_FALSE(one.satisfied());
    table.MarkReady(a, Inline("a"), 1);
    EXPECT_FALSE(all.satisfied());
    EXPECT_TRUE(one.satisfied());
    table.MarkReady(b, Inline("b"), 1);
    EXPECT_TRUE(all.satisfied());
  }
  ObjectID c = ObjectID::FromRandom();
  table.Register(c);
  {
    ObjectWaiter waiter(table, std::vector<ObjectID>{c}, 1);
  }  // unregistered: making `c` must not touch it
  EXPECT_TRUE(table.Find(c)->waiters.empty());
  table.MarkReady(c, Inline("c"), 1);
}

TEST(ReferenceTableTest, AFreedObjectIsDeletedFromEveryNodeHoldingACopy) {
  ReferenceTable table;
  ObjectID id = ObjectID::FromRandom();
  table.Register(id);
  table.MarkReady(id, nullptr, 100, {}, /*node=*/2);  // in node 2's store
  EXPECT_TRUE(table.AddCopy(id, 0));                  // copied to this node's
  EXPECT_TRUE(table.AddCopy(id, 3));                  // and to node 3's
  table.RemoveRef(id);
  EXPECT_EQ(table.TakeStoreDeletes(), std::vector<ObjectID>{id});
  auto remote = table.TakeRemoteDeletes();
  ASSERT_EQ(remote.size(), 2u);
  EXPECT_EQ(remote[0], (std::pair<uint16_t, ObjectID>{2, id}));
  EXPECT_EQ(remote[1], (std::pair<uint16_t, ObjectID>{3, id}));
  EXPECT_FALSE(table.AddCopy(id, 4));  // a copy made after the free is the caller's to delete
}

TEST(ReferenceTableTest, ANodeLostTakesItsCopiesAndTheObjectsOnlyItHeld) {
  ReferenceTable table;
  ObjectID only_there = ObjectID::FromRandom(), also_here = ObjectID::FromRandom();
  for (const ObjectID& id : {only_there, also_here}) {
    table.Register(id);
    table.MarkReady(id, nullptr, 10, {}, /*node=*/1);
  }
  table.AddCopy(also_here, 0);
  auto lost = table.DropNode(
      1, [](const ObjectID&) { return std::make_shared<const std::string>("lost"); });
  EXPECT_EQ(lost, std::vector<ObjectID>{only_there});
  EXPECT_EQ(*table.Find(only_there)->value, "lost");
  EXPECT_EQ(table.Find(also_here)->value, nullptr);
  EXPECT_EQ(table.Find(also_here)->copies.size(), 1u);
}

}  // namespace
}  // namespace ray::core
