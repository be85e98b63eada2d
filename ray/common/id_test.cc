#include "ray/common/id.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

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

TEST(TaskIDTest, AForkedChildDoesNotRepeatItsParentsIds) {
  TaskID::FromRandom();  // the engine exists before the fork
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  if (child == 0) {
    TaskID id = TaskID::FromRandom();
    (void)!write(pipe_fds[1], id.data(), TaskID::kSize);
    _exit(0);
  }
  TaskID parent = TaskID::FromRandom();
  uint8_t bytes[TaskID::kSize];
  ASSERT_EQ(read(pipe_fds[0], bytes, sizeof(bytes)), static_cast<ssize_t>(sizeof(bytes)));
  waitpid(child, nullptr, 0);
  EXPECT_NE(TaskID::FromBinary(std::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes))),
            parent);
}

}  // namespace
}  // namespace ray
