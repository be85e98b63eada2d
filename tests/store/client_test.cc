// The store client against a real ray_store process.
#include "ray/store/client.h"

#include <gtest/gtest.h>

#include "tests/store/store_process.h"

namespace ray::store {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string Str(const ObjectBuffer& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.ready());
    auto client = StoreClient::Connect(store_.socket_path());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }
  testing::StoreProcess store_{{"--capacity=64M", "--max_objects=4096"}};
  std::unique_ptr<StoreClient> client_;
};

TEST_F(ClientTest, PutThenGetSmallAndLarge) {
  ObjectID small = ObjectID::FromRandom();
  ASSERT_TRUE(client_->Put(small, Bytes("hello")).ok());
  auto got = client_->Get(small);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Str(*got), "hello");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(got->data()) % 64, 0u);

  ObjectID large = ObjectID::FromRandom();
  std::string big(1 << 20, 'x');
  ASSERT_TRUE(client_->Put(large, Bytes(big)).ok());
  auto got_large = client_->Get(large);
  ASSERT_TRUE(got_large.ok()) << got_large.status();
  EXPECT_EQ(Str(*got_large), big);
  EXPECT_TRUE(client_->Flush().ok());
}

TEST_F(ClientTest, GetTimesOutOnMissingObject) {
  auto got = client_->Get(ObjectID::FromRandom(), absl::Milliseconds(50));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDeadlineExceeded) << got.status();
}

TEST_F(ClientTest, DuplicatePutIsAnError) {
  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE(client_->Put(id, Bytes("a")).ok());
  ASSERT_TRUE(client_->Put(id, Bytes("b")).ok());  // batched: the error comes with Flush
  EXPECT_EQ(client_->Flush().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Str(*client_->Get(id)), "a");
}

}  // namespace
}  // namespace ray::store
