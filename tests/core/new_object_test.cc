// The one way the runtimes write objects (ray/core_worker/new_object.h), against a real store
// process: inline or stored, a retry that finds its object stored, an object dropped unfinished,
// and a task's large arguments moved to the store.
#include "ray/core_worker/new_object.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ray/rpc/inline_values.h"
#include "ray/store/client.h"
#include "tests/store/store_process.h"

namespace ray::core {
namespace {

class NewObjectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.ready());
    auto client = store::StoreClient::Connect(store_.socket_path(), {.name = "new_object_test"});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  // Writes `text` as object `id` through NewObject::Write.
  absl::StatusOr<NewObject::Written> WriteText(const ObjectID& id, const std::string& text,
                                               bool inline_ok) {
    return NewObject::Write(
        *client_, id, text.size(),
        [&](std::span<uint8_t> out) { std::memcpy(out.data(), text.data(), text.size()); },
        inline_ok);
  }

  std::string Stored(const ObjectID& id) {
    auto buffer = client_->Get(id, absl::Seconds(10), store::StoreClient::IfAbsent::kFail);
    if (!buffer.ok()) return "<" + std::string(buffer.status().message()) + ">";
    return std::string(reinterpret_cast<const char*>(buffer->data()), buffer->size());
  }

  testing::StoreProcess store_{{"--capacity=64M"}};
  std::unique_ptr<store::StoreClient> client_;
};

ObjectID SomeObject() { return ObjectID::ForPut(TaskID::FromRandom(), 1, false); }

TEST_F(NewObjectTest, InlineStaysOutOfTheStore) {
  const ObjectID id = SomeObject();
  auto written = WriteText(id, "small", /*inline_ok=*/true);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_FALSE(written->in_store);
  EXPECT_EQ(written->inline_value, "small");
  EXPECT_EQ(written->size, 5u);
  EXPECT_TRUE(absl::IsNotFound(
      client_->Get(id, absl::ZeroDuration(), store::StoreClient::IfAbsent::kFail).status()));
}

TEST_F(NewObjectTest, StoredIsSealed) {
  const ObjectID id = SomeObject();
  auto written = WriteText(id, "in the store", /*inline_ok=*/false);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_TRUE(written->in_store);
  EXPECT_EQ(written->size, 12u);
  EXPECT_EQ(Stored(id), "in the store");
}

TEST_F(NewObjectTest, ARetryKeepsWhatAnEarlierAttemptStored) {
  const ObjectID id = SomeObject();
  ASSERT_TRUE(WriteText(id, "first attempt", false).ok());
  auto again = WriteText(id, "second", false);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->in_store);
  EXPECT_EQ(again->size, 13u);  // the stored object's size, not the new value's
  EXPECT_EQ(Stored(id), "first attempt");
}

TEST_F(NewObjectTest, DroppedUnfinishedIsAborted) {
  const ObjectID id = SomeObject();
  {
    auto object = NewObject::Create(*client_, id, 100, /*inline_ok=*/false);
    ASSERT_TRUE(object.ok()) << object.status();
    std::memset(object->span().data(), 1, 100);
  }
  // Gone (aborted), so it can be made again.
  auto written = WriteText(id, "made again", false);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(Stored(id), "made again");
}

TEST_F(NewObjectTest, TooLargeForTheStoreIsResourceExhausted) {
  auto object = NewObject::Create(*client_, SomeObject(), size_t{1} << 30, false);
  EXPECT_TRUE(absl::IsResourceExhausted(object.status())) << object.status();
}

TEST_F(NewObjectTest, LargeArgumentsMoveAndSmallOnesStay) {
  std::vector<TaskArg> args(3);
  args[0].value = "small";
  args[1].value = std::string(kInlineLimit + 1, 'x');
  args[2].ref = SomeObject();
  std::vector<std::string> put;
  auto stored = MoveLargeArgs(
      args,
      [&](size_t size, ObjectWrite write) -> absl::StatusOr<ObjectID> {
        std::string value(size, '\0');
        write({reinterpret_cast<uint8_t*>(value.data()), size});
        put.push_back(std::move(value));
        return SomeObject();
      },
      [](const ObjectID&) { ADD_FAILURE() << "nothing to release"; });
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_TRUE(args[0].ref.IsNil());
  EXPECT_EQ(args[0].value, "small");
  EXPECT_EQ(args[1].ref, (*stored)[0]);
  ASSERT_EQ(put.size(), 1u);
  EXPECT_EQ(put[0], std::string(kInlineLimit + 1, 'x'));
}

TEST_F(NewObjectTest, ArgumentsPastTheTaskBudgetMove) {
  // Each fits inline, but not all together.
  const size_t each = kInlineLimit;
  const size_t count = kTaskInlineBytes / each + 2;
  std::vector<TaskArg> args(count);
  for (TaskArg& arg : args) arg.value = std::string(each, 'v');
  auto stored = MoveLargeArgs(
      args, [&](size_t, ObjectWrite) -> absl::StatusOr<ObjectID> { return SomeObject(); },
      [](const ObjectID&) {});
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), 2u);
  EXPECT_TRUE(args.front().ref.IsNil());
  EXPECT_FALSE(args.back().ref.IsNil());
}

TEST_F(NewObjectTest, AFailedMoveReleasesWhatItMade) {
  std::vector<TaskArg> args(2);
  args[0].value = std::string(kInlineLimit + 1, 'a');
  args[1].value = std::string(kInlineLimit + 1, 'b');
  const ObjectID first = SomeObject();
  int calls = 0;
  std::vector<ObjectID> released;
  auto stored = MoveLargeArgs(
      args,
      [&](size_t, ObjectWrite) -> absl::StatusOr<ObjectID> {
        if (calls++ == 0) return first;
        return absl::ResourceExhaustedError("full");
      },
      [&](const ObjectID& id) { released.push_back(id); });
  EXPECT_TRUE(absl::IsResourceExhausted(stored.status()));
  EXPECT_EQ(released, std::vector<ObjectID>{first});
}

}  // namespace
}  // namespace ray::core
