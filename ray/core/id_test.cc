#include "ray/core/id.h"

#include <gtest/gtest.h>

#include "absl/container/flat_hash_set.h"

namespace ray {
namespace {

TEST(ObjectIDTest, CarriesTaskAndIndex) {
  TaskID task = TaskID::FromRandom();
  ObjectID ret = ObjectID::ForReturn(task, 3);
  EXPECT_EQ(ret.Task(), task);
  EXPECT_EQ(ret.Index(), 3u);
  EXPECT_FALSE(ret.IsPut());
  ObjectID put = ObjectID::ForPut(task, 3);
  EXPECT_TRUE(put.IsPut());
  EXPECT_NE(put, ret);
}

TEST(ObjectIDTest, HexRoundTripsAndRejectsGarbage) {
  ObjectID id = ObjectID::FromRandom();
  EXPECT_EQ(id.Hex().size(), 2 * ObjectID::kSize);
  EXPECT_EQ(ObjectID::FromHex(id.Hex()), id);
  EXPECT_TRUE(ObjectID::FromHex("xyz").IsNil());
  EXPECT_TRUE(ObjectID::FromHex(std::string(48, 'g')).IsNil());
  ObjectID out;
  EXPECT_FALSE(ObjectID::FromBinary("short", &out));
}

TEST(ObjectIDTest, RandomIdsAreDistinct) {
  absl::flat_hash_set<ObjectID> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(ObjectID::FromRandom()).second);
  EXPECT_TRUE(ObjectID().IsNil());
}

}  // namespace
}  // namespace ray
