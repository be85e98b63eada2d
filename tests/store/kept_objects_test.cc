// Objects that are not evictable (what the runtimes store for their references) in a real
// store process: they stay when the store fills, a full store says so, only their creator or
// the store's owner deletes them, and a reader that knows an object was made is told at once
// when it is gone instead of waiting for it.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ray/store/client.h"
#include "tests/store/store_process.h"
#include "tests/store/test_util.h"

namespace ray::store {
namespace {

using ::ray::testing::BlockUntilKilled;
using ::ray::testing::Channel;
using ::ray::testing::CheckPattern;
using ::ray::testing::ChildProcess;
using ::ray::testing::FillPattern;
using ::ray::testing::KilledBySigkill;

constexpr uint64_t kCapacity = 1 << 20;
constexpr uint64_t kObjectSize = 128 << 10;  // above the small-object limit: written in place
constexpr int kFit = kCapacity / kObjectSize;
constexpr char kToken[] = "test-owner-token-0123456789";

// A store whose owner token is kToken.
class KeptObjectsTest : public ::testing::Test {
 protected:
  static std::vector<std::string> Args() {
    std::string token_file = ::testing::TempDir() + "/owner_token";
    std::ofstream(token_file) << kToken;
    return {"--capacity=1M", "--max_objects=1024", "--owner_token_file=" + token_file};
  }
  void SetUp() override {
    ASSERT_TRUE(store_.ready());
    client_ = Connect("creator");
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override { EXPECT_TRUE(store_.alive()) << "the store died"; }

  std::unique_ptr<StoreClient> Connect(const std::string& name, std::string token = "") {
    auto client =
        StoreClient::Connect(store_.socket_path(), {.name = name, .owner_token = std::move(token)});
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }
  ObjectID Put(StoreClient& client, uint64_t seed) {
    ObjectID id = ObjectID::FromRandom();
    std::vector<uint8_t> data(kObjectSize);
    FillPattern(seed, data);
    EXPECT_TRUE(client.Put(id, data).ok());
    EXPECT_TRUE(client.Flush().ok());
    return id;
  }

  testing::StoreProcess store_{Args()};
  std::unique_ptr<StoreClient> client_;
};

TEST_F(KeptObjectsTest, AFullStoreRefusesNewObjectsAndEvictsNone) {
  std::vector<ObjectID> ids;
  for (int i = 0; i < kFit; ++i) ids.push_back(Put(*client_, i));
  auto created = client_->Create(ObjectID::FromRandom(), kObjectSize);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kResourceExhausted) << created.status();
  EXPECT_NE(created.status().message().find("ObjectStoreFull"), std::string::npos);
  for (int i = 0; i < kFit; ++i) {
    auto got = client_->Get(ids[i], absl::Seconds(10), StoreClient::IfAbsent::kFail);
    ASSERT_TRUE(got.ok()) << "object " << i << ": " << got.status();
    EXPECT_EQ(CheckPattern(i, got->span()), "");
  }
  EXPECT_EQ(client_->Stats()->evictions, 0u);
  // Deleting one makes room for one.
  ASSERT_TRUE(client_->Delete({&ids[0], 1}).ok());
  EXPECT_TRUE(client_->Create(ObjectID::FromRandom(), kObjectSize).ok());
}

TEST_F(KeptObjectsTest, OnlyTheCreatorOrTheOwnerDeletes) {
  ObjectID id = Put(*client_, 1);
  auto stranger = Connect("stranger");
  ASSERT_NE(stranger, nullptr);
  absl::Status refused = stranger->Delete({&id, 1});
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied) << refused;
  auto got = stranger->Get(id, absl::Seconds(10), StoreClient::IfAbsent::kFail);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(CheckPattern(1, got->span()), "");
  got->Release();

  auto thief = StoreClient::Connect(store_.socket_path(), {.owner_token = "not-the-token"});
  EXPECT_EQ(thief.status().code(), absl::StatusCode::kPermissionDenied) << thief.status();

  auto owner = Connect("owner", kToken);
  ASSERT_NE(owner, nullptr);
  EXPECT_TRUE(owner->Delete({&id, 1}).ok());
  EXPECT_FALSE(*client_->Contains(id));
}

TEST_F(KeptObjectsTest, AReaderIsToldAtOnceThatAnObjectIsGone) {
  // Never made, or deleted: NotFound without waiting (the timeout is infinite).
  ObjectID never = ObjectID::FromRandom();
  EXPECT_EQ(
      client_->Get(never, absl::InfiniteDuration(), StoreClient::IfAbsent::kFail).status().code(),
      absl::StatusCode::kNotFound);
  ObjectID deleted = Put(*client_, 2);
  ASSERT_TRUE(client_->Delete({&deleted, 1}).ok());
  EXPECT_EQ(
      client_->Get(deleted, absl::InfiniteDuration(), StoreClient::IfAbsent::kFail).status().code(),
      absl::StatusCode::kNotFound);

  // Created and never sealed: a reader waits, and is told when its creator aborts it.
  auto writer = Connect("writer");
  ASSERT_NE(writer, nullptr);
  ObjectID unsealed = ObjectID::FromRandom();
  auto object = writer->Create(unsealed, kObjectSize);
  ASSERT_TRUE(object.ok()) << object.status();
  absl::Status read;
  std::thread reader([&] {
    read = client_->Get(unsealed, absl::InfiniteDuration(), StoreClient::IfAbsent::kFail).status();
  });
  ASSERT_TRUE(writer->Abort(*std::move(object)).ok());
  reader.join();
  EXPECT_EQ(read.code(), absl::StatusCode::kNotFound) << read;

  // Created, then sealed: the reader gets it.
  ObjectID sealed_later = ObjectID::FromRandom();
  auto later = writer->Create(sealed_later, kObjectSize);
  ASSERT_TRUE(later.ok()) << later.status();
  FillPattern(3, later->span());
  absl::StatusOr<ObjectBuffer> got = absl::UnknownError("unset");
  std::thread waiter([&] {
    got = client_->Get(sealed_later, absl::InfiniteDuration(), StoreClient::IfAbsent::kFail);
  });
  ASSERT_TRUE(writer->Seal(*std::move(later)).ok());
  waiter.join();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(CheckPattern(3, got->span()), "");
}

TEST_F(KeptObjectsTest, AReaderOfAnObjectWhoseCreatorDiesIsToldItIsGone) {
  const ObjectID unsealed = ObjectID::FromRandom();
  const std::string socket = store_.socket_path();
  ChildProcess writer([&](Channel& channel) -> int {
    auto client = StoreClient::Connect(socket, {.name = "doomed writer"});
    CHILD_CHECK(client.ok(), client.status());
    auto object = (*client)->Create(unsealed, kObjectSize);
    CHILD_CHECK(object.ok(), object.status());
    CHILD_CHECK(channel.Send('c'));
    BlockUntilKilled();
  });
  ASSERT_TRUE(writer.channel().Expect('c')) << "the writer failed (see its stderr)";
  absl::Status read;
  std::thread reader([&] {
    read = client_->Get(unsealed, absl::InfiniteDuration(), StoreClient::IfAbsent::kFail).status();
  });
  EXPECT_TRUE(KilledBySigkill(writer.Kill(SIGKILL)));
  reader.join();
  EXPECT_EQ(read.code(), absl::StatusCode::kNotFound) << read;
}

}  // namespace
}  // namespace ray::store
