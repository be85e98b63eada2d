// Serialization given bad input (truncated, garbage, wrong types) and error objects.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <tuple>
#include <unordered_map>

#include "ray/api/internal/serialization.h"
#include "ray/api/internal/serialization_test_types.h"

namespace ray {
namespace {

using ::testing::HasSubstr;

using namespace ::ray::testing;  // NOLINT: the types of serialization_test_types.h

// Each prefix of an object, in a heap block of exactly its size (so that a read past the end
// shows under valgrind or ASan).
template <typename T>
void ExpectEveryTruncationFails(const std::string& object) {
  SCOPED_TRACE(TypeName<T>());
  ASSERT_TRUE(Deserialize<T>(object).ok());
  for (size_t len = 0; len < object.size(); ++len) {
    std::vector<uint8_t> prefix(object.begin(), object.begin() + len);
    std::span<const uint8_t> bytes(prefix.data(), len);
    absl::StatusOr<T> value = Deserialize<T>(bytes);
    EXPECT_EQ(value.status().code(), absl::StatusCode::kDataLoss) << len << ": " << value.status();
    EXPECT_FALSE(IsError(bytes));
    EXPECT_FALSE(DescribeObject(bytes).empty());
    // The same, with the header's length made to agree: the payload itself is cut short.
    if (len > kObjectHeaderSize) {
      uint64_t payload = len - kObjectHeaderSize;
      std::memcpy(prefix.data() + offsetof(ObjectHeader, payload_size), &payload, 8);
      value = Deserialize<T>(bytes);
      if (HeaderOf(object).format == static_cast<uint8_t>(ObjectFormat::kRaw)) {
        // A raw object cut at an element boundary is a shorter, valid object.
        if (value.ok()) {
          EXPECT_EQ(payload % HeaderOf(object).elem_size, 0u);
        }
      } else {
        EXPECT_FALSE(value.ok()) << len;
      }
      DescribeObject(bytes);
      DeserializeError(bytes).IgnoreError();
    }
  }
}

TEST(SerializationTest, TruncatedInputIsAnErrorAtEveryLength) {
  ExpectEveryTruncationFails<int>(Serialize(123456));
  ExpectEveryTruncationFails<double>(Serialize(2.5));
  ExpectEveryTruncationFails<std::string>(Serialize(std::string("truncate me")));
  ExpectEveryTruncationFails<std::vector<double>>(Serialize(std::vector<double>{1, 2, 3}));
  ExpectEveryTruncationFails<std::vector<std::string>>(
      Serialize(std::vector<std::string>{"ab", "", "cde"}));
  ExpectEveryTruncationFails<std::map<std::string, std::vector<int>>>(
      Serialize(std::map<std::string, std::vector<int>>{{"k", {1, 300, 70000}}, {"j", {}}}));
  ExpectEveryTruncationFails<Record>(
      Serialize(Record{"rec", 12, "note", {{1, {0.5}}}, {{"k", {1, 2, 3}}}}));
  ExpectEveryTruncationFails<std::vector<ByteBuffer>>(
      Serialize(std::vector<ByteBuffer>{ByteBuffer("abc", 3)}));
  std::string error = SerializeError({"f", "std::runtime_error", "boom", "ab12", 42, ""});
  for (size_t len = 0; len < error.size(); ++len) {
    std::vector<uint8_t> prefix(error.begin(), error.begin() + len);
    EXPECT_FALSE(DeserializeError({prefix.data(), len}).ok());
    EXPECT_FALSE(IsError({prefix.data(), len}));
  }
}

// A header that agrees with the payload, whatever the payload is.
std::vector<uint8_t> MsgpackObject(std::span<const uint8_t> payload) {
  std::string object = Serialize(0);
  std::vector<uint8_t> bytes(kObjectHeaderSize + payload.size());
  std::memcpy(bytes.data(), object.data(), kObjectHeaderSize);
  if (!payload.empty())
    std::memcpy(bytes.data() + kObjectHeaderSize, payload.data(), payload.size());
  uint64_t size = payload.size();
  std::memcpy(bytes.data() + offsetof(ObjectHeader, payload_size), &size, 8);
  return bytes;
}

TEST(SerializationTest, GarbageIsAnErrorNotACrash) {
  // Containers that claim more elements than there are bytes: msgpack would allocate them all.
  for (std::vector<uint8_t> payload :
       std::vector<std::vector<uint8_t>>{{0xdd, 0xff, 0xff, 0xff, 0xff},  // array32 of 4 billion
                                         {0xdf, 0xff, 0xff, 0xff, 0xff},  // map32 of 4 billion
                                         {0xdb, 0xff, 0xff, 0xff, 0xff},  // str32 of 4 GB
                                         {0xc6, 0x7f, 0xff, 0xff, 0xff},  // bin32
                                         {0xc9, 0xff, 0xff, 0xff, 0xff},  // ext32
                                         {0x93, 0xdd, 0x00, 0x10, 0x00, 0x00, 0x01},
                                         {0xc1},        // reserved
                                         {0x01, 0x02},  // trailing bytes
                                         {}}) {
    std::vector<uint8_t> object = MsgpackObject(payload);
    auto status = Deserialize<std::vector<std::string>>({object.data(), object.size()}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_EQ(Deserialize<int>({object.data(), object.size()}).status().code(),
              absl::StatusCode::kDataLoss);
  }
  // Nested deeper than the limit.
  std::vector<uint8_t> deep(100000, 0x91);
  deep.push_back(0x01);
  std::vector<uint8_t> object = MsgpackObject(deep);
  EXPECT_THAT(
      std::string(Deserialize<std::vector<int>>({object.data(), object.size()}).status().message()),
      HasSubstr("deeper"));
  // Bad headers.
  std::string good = Serialize(std::vector<int>{1, 2});
  for (size_t field : {offsetof(ObjectHeader, magic), offsetof(ObjectHeader, version),
                       offsetof(ObjectHeader, format), offsetof(ObjectHeader, elem_kind),
                       offsetof(ObjectHeader, elem_size)}) {
    std::string bad = good;
    bad[field] ^= 0x5a;
    EXPECT_EQ(Deserialize<std::vector<int>>(bad).status().code(), absl::StatusCode::kDataLoss)
        << field;
  }
  // Random payloads behind a valid header, and random bytes in valid objects: any result but a
  // crash (checked under valgrind too).
  std::mt19937_64 rng(7);
  std::vector<std::string> seeds = {
      Serialize(Record{"rec", 12, "note", {{1, {0.5}}}, {{"k", {1, 2, 3}}}}),
      Serialize(std::map<std::string, std::vector<int>>{{"k", {1, 300, 70000}}}),
      Serialize(std::vector<std::string>{"ab", "cde"}), SerializeError({"f", "t", "m", "id", 1})};
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<uint8_t> bytes;
    if (trial % 2 == 0) {
      std::vector<uint8_t> payload(rng() % 40);
      for (uint8_t& b : payload) b = static_cast<uint8_t>(rng());
      bytes = MsgpackObject(payload);
    } else {
      const std::string& seed = seeds[rng() % seeds.size()];
      bytes.assign(seed.begin(), seed.end());
      for (int flips = 1 + rng() % 3; flips > 0; --flips) {
        bytes[kObjectHeaderSize + rng() % (bytes.size() - kObjectHeaderSize)] =
            static_cast<uint8_t>(rng());
      }
    }
    std::span<const uint8_t> span(bytes.data(), bytes.size());
    Deserialize<Record>(span).IgnoreError();
    Deserialize<int>(span).IgnoreError();
    Deserialize<std::string>(span).IgnoreError();
    Deserialize<std::vector<std::string>>(span).IgnoreError();
    Deserialize<std::map<std::string, std::vector<int>>>(span).IgnoreError();
    DeserializeError(span).IgnoreError();
    DescribeObject(span);
  }
}

TEST(SerializationTest, ErrorObjectsRoundTrip) {
  TaskErrorInfo info{"add", "std::runtime_error", "boom: x < 0", "0123abcd", 4242, "node-1"};
  std::string object = SerializeError(info);
  EXPECT_EQ(object.size(), SerializedErrorSize(info));
  EXPECT_TRUE(IsError(Bytes(object)));
  EXPECT_FALSE(IsError(Bytes(Serialize(info))));  // an ordinary value of that type
  EXPECT_FALSE(IsError(Bytes(Serialize(1))));
  absl::StatusOr<TaskErrorInfo> back = DeserializeError(Bytes(object));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, info);
  EXPECT_EQ(back->ToString(),
            "std::runtime_error in add (task 0123abcd, pid 4242, node node-1): boom: x < 0");

  absl::Status status = Deserialize<int>(object).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(status.message()), HasSubstr("boom: x < 0"));
  EXPECT_EQ(DeserializeView<double>(Bytes(object)).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(DeserializeError(Bytes(Serialize(1))).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(DescribeObject(Bytes(object)), HasSubstr("error object"));

  AlignedBuffer buffer(SerializedErrorSize(info));
  EXPECT_EQ(SerializeErrorInto(info, buffer.span()), object.size());
  EXPECT_EQ(std::memcmp(buffer.data, object.data(), object.size()), 0);
  // Missing fields (another writer) read as empty.
  TaskErrorInfo partial = *DeserializeError(Bytes(SerializeError({.message = "only this"})));
  EXPECT_EQ(partial.message, "only this");
  EXPECT_EQ(partial.pid, 0);
}

// Error objects written before TaskErrorInfo had `traceback` and `exception_pickle` (a map
// without those keys) still read, and both round-trip (the pickle as any bytes).
struct OldTaskErrorInfo {
  std::string function_name, exception_type, message, task_id;
  int64_t pid = 0;
  std::string node;
  MSGPACK_DEFINE_MAP(function_name, exception_type, message, task_id, pid, node);
};

TEST(SerializationTest, ErrorObjectsWithAndWithoutTraceback) {
  std::string old = Serialize(OldTaskErrorInfo{"f", "ValueError", "boom", "ab", 7, ""});
  old[offsetof(ObjectHeader, format)] = static_cast<char>(ObjectFormat::kError);
  absl::StatusOr<TaskErrorInfo> info = DeserializeError(Bytes(old));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->message, "boom");
  EXPECT_EQ(info->pid, 7);
  EXPECT_EQ(info->traceback, "");
  EXPECT_EQ(info->exception_pickle, "");
  TaskErrorInfo with{.function_name = "f",
                     .message = "m",
                     .traceback = "Traceback ...\n",
                     .exception_pickle = std::string("\x80\x05\0\xff.", 5)};
  EXPECT_EQ(*DeserializeError(Bytes(SerializeError(with))), with);
}

// Python values (ray/python_embed): a header with format kPickle and opaque payload bytes. C++
// reads the header and describes the object but does not convert it.
TEST(SerializationTest, PickleObjectsAreDescribedNotConverted) {
  std::string payload = "\x80\x05K\x03.";  // pickle of 3
  std::string object(kObjectHeaderSize, '\0');
  WriteForeignHeader(std::span<uint8_t>(reinterpret_cast<uint8_t*>(object.data()), object.size()),
                     ObjectFormat::kPickle, payload.size(), "int");
  object += payload;
  ASSERT_TRUE(ReadHeader(Bytes(object)).ok());
  EXPECT_EQ(DescribeObject(Bytes(object)), "pickle of 5 bytes (written as int)");
  EXPECT_EQ(Deserialize<int>(object).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DeserializeView<uint8_t>(Bytes(object)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsError(Bytes(object)));
}

}  // namespace
}  // namespace ray
