// Bad input to a real store: garbage on its socket, requests the protocol forbids, unknown
// IDs, and a store that is missing or dies while a client waits on it.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ray/store/client.h"
#include "tests/store/raw_session.h"
#include "tests/store/store_process.h"
#include "tests/store/test_util.h"

namespace ray::store {
namespace {

using ::ray::testing::CheckPattern;
using ::ray::testing::ConnectRawSocket;
using ::ray::testing::FillPattern;
using ::ray::testing::RawSession;

std::vector<uint8_t> Pattern(uint64_t seed, size_t size) {
  std::vector<uint8_t> data(size);
  FillPattern(seed, data);
  return data;
}

bool SendAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    p += n;
    size -= n;
  }
  return true;
}

// True once the peer closed the connection (EOF or reset), false if it is still open after
// `timeout`. Anything the store sends back first is read and dropped.
bool PeerCloses(int fd, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  char buf[4096];
  while (absl::Now() < deadline) {
    pollfd pfd{fd, POLLIN, 0};
    int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (poll(&pfd, 1, std::max(ms, 0)) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return true;
  }
  return false;
}

// A Cap'n Proto stream frame header: segment count - 1, then each segment's size in words
// (padded to a whole word).
std::vector<uint32_t> FrameHeader(std::vector<uint32_t> segment_words) {
  std::vector<uint32_t> header = {static_cast<uint32_t>(segment_words.size() - 1)};
  header.insert(header.end(), segment_words.begin(), segment_words.end());
  if (header.size() % 2 != 0) header.push_back(0);
  return header;
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.ready()); }

  std::unique_ptr<StoreClient> Connect(const std::string& name = "client") {
    auto client = StoreClient::Connect(store_.socket_path(), {.name = name});
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // The store is up and serves a fresh client: a put and a get, small and large.
  void ExpectStoreServes() {
    ASSERT_TRUE(store_.alive()) << "the store died";
    auto client = Connect("checker");
    ASSERT_NE(client, nullptr);
    for (size_t size : {size_t{100}, size_t{1} << 20}) {
      ObjectID id = ObjectID::FromRandom();
      ASSERT_TRUE(client->Put(id, Pattern(size, size)).ok());
      auto got = client->Get(id, absl::Seconds(10));
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(CheckPattern(size, got->span()), "");
    }
    EXPECT_TRUE(client->Flush().ok());
  }

  // Sends `bytes` on a fresh raw connection and expects the store to hang up on it.
  void ExpectRejected(const std::vector<uint8_t>& bytes) {
    int fd = ConnectRawSocket(store_.socket_path());
    ASSERT_GE(fd, 0);
    SendAll(fd, bytes.data(), bytes.size());  // the store may hang up before reading it all
    EXPECT_TRUE(PeerCloses(fd, absl::Seconds(10))) << "the store kept a garbage connection";
    close(fd);
    ExpectStoreServes();
  }

  testing::StoreProcess store_{{"--capacity=64M", "--max_objects=4096"}};
};

TEST_F(BadInputTest, RandomBytesOnTheSocket) {
  std::mt19937_64 random(1234);
  for (size_t size : {8, 64, 4096, 1 << 20}) {
    std::vector<uint8_t> bytes(size);
    for (auto& b : bytes) b = static_cast<uint8_t>(random());
    ExpectRejected(bytes);
  }
}

TEST_F(BadInputTest, HugeSegmentCount) {
  std::vector<uint32_t> words = {0x7fffffff, 1, 0, 0};
  std::vector<uint8_t> bytes(words.size() * 4);
  std::memcpy(bytes.data(), words.data(), bytes.size());
  ExpectRejected(bytes);
}

TEST_F(BadInputTest, SegmentLargerThanAnyMessageMayBe) {
  std::vector<uint32_t> header = FrameHeader({0xffffffffu});
  std::vector<uint8_t> bytes(header.size() * 4 + 64, 0);
  std::memcpy(bytes.data(), header.data(), header.size() * 4);
  ExpectRejected(bytes);
}

TEST_F(BadInputTest, WellFramedGarbageMessage) {
  // A valid frame whose one segment holds random words: not an RPC message.
  std::mt19937_64 random(99);
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::vector<uint32_t> header = FrameHeader({16});
    std::vector<uint8_t> bytes(header.size() * 4 + 16 * 8);
    std::memcpy(bytes.data(), header.data(), header.size() * 4);
    for (size_t i = header.size() * 4; i < bytes.size(); ++i) bytes[i] = random();
    int fd = ConnectRawSocket(store_.socket_path());
    ASSERT_GE(fd, 0);
    SendAll(fd, bytes.data(), bytes.size());
    // Some garbage parses as a message the store answers; either way it must not crash it.
    PeerCloses(fd, absl::Milliseconds(200));
    close(fd);
  }
  ExpectStoreServes();
}

TEST_F(BadInputTest, TruncatedFrameThenClose) {
  std::vector<uint32_t> header = FrameHeader({1000});
  std::vector<uint8_t> bytes(header.size() * 4 + 100 * 8, 0);
  std::memcpy(bytes.data(), header.data(), header.size() * 4);
  int fd = ConnectRawSocket(store_.socket_path());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, bytes.data(), bytes.size()));
  // Half a message stalls only its own connection: others are served meanwhile.
  ExpectStoreServes();
  close(fd);
  ExpectStoreServes();
}

TEST_F(BadInputTest, ManyConnectionsThatSayNothing) {
  std::vector<int> fds;
  for (int i = 0; i < 50; ++i) {
    int fd = ConnectRawSocket(store_.socket_path());
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  ExpectStoreServes();
  for (int fd : fds) close(fd);
  ExpectStoreServes();
}

TEST_F(BadInputTest, UnknownIds) {
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto got = client->Get(ObjectID::FromRandom(), absl::Milliseconds(100));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDeadlineExceeded) << got.status();
  ObjectID unknown = ObjectID::FromRandom();
  absl::Status deleted = client->Delete({&unknown, 1});
  EXPECT_EQ(deleted.code(), absl::StatusCode::kNotFound) << deleted;
  auto contains = client->Contains(unknown);
  ASSERT_TRUE(contains.ok()) << contains.status();
  EXPECT_FALSE(*contains);

  // A batched Get answers per ID: the known one, then the unknown one timing out.
  ObjectID known = ObjectID::FromRandom();
  ASSERT_TRUE(client->Put(known, Pattern(1, 10)).ok());
  std::vector<ObjectID> ids = {known, unknown};
  auto results = client->Get(ids, absl::Milliseconds(100));
  ASSERT_EQ(results.size(), 2u);
  ASSERT_TRUE(results[0].ok()) << results[0].status();
  EXPECT_EQ(CheckPattern(1, results[0]->span()), "");
  EXPECT_EQ(results[1].status().code(), absl::StatusCode::kDeadlineExceeded);

  // Once those waits timed out, the ID arriving later wakes nothing stale.
  ASSERT_TRUE(client->Put(unknown, Pattern(2, 10)).ok());
  auto late = client->Get(unknown, absl::Seconds(10));
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(CheckPattern(2, late->span()), "");
  ExpectStoreServes();
}

TEST_F(BadInputTest, NilIdIsInvalid) {
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto got = client->Get(ObjectID(), absl::Seconds(10));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();
  EXPECT_EQ(client->Put(ObjectID(), Pattern(1, 10)).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(BadInputTest, AbortThroughAnotherClientIsRefused) {
  auto owner = Connect("owner");
  auto other = Connect("other");
  ASSERT_NE(owner, nullptr);
  ASSERT_NE(other, nullptr);
  ObjectID id = ObjectID::FromRandom();
  auto object = owner->Create(id, 1000);
  ASSERT_TRUE(object.ok()) << object.status();
  absl::Status aborted = other->Abort(*std::move(object));
  EXPECT_EQ(aborted.code(), absl::StatusCode::kInvalidArgument) << aborted;
}

TEST_F(BadInputTest, SealTwiceIsRefused) {
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  ObjectID id = ObjectID::FromRandom();
  auto object = client->Create(id, 100);
  ASSERT_TRUE(object.ok()) << object.status();
  MutableObject created = *std::move(object);
  std::memset(created.data(), 7, 100);
  ASSERT_TRUE(client->Seal(std::move(created)).ok());
  EXPECT_FALSE(client->Seal(std::move(created)).ok());  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(client->Flush().ok());
  auto got = client->Get(id, absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->data()[99], 7);
}

// What the client library never sends, checked by the store itself.
TEST_F(BadInputTest, StoreEnforcesTheProtocolOnRawSessions) {
  RawSession owner(store_.socket_path());
  auto& ws = owner.wait_scope();
  ObjectID id = ObjectID::FromRandom();
  auto create = owner.session().createRequest();
  create.setId(RawSession::Id(id));
  create.setSize(1000);
  EXPECT_EQ(create.send().wait(ws).getStatus().getCode(), rpc::Code::OK);

  // Seal twice: the second is refused.
  auto seal = owner.session().applyRequest();
  seal.initSeals(1).set(0, RawSession::Id(id));
  EXPECT_EQ(seal.send().wait(ws).getFailures().size(), 0u);
  auto seal_again = owner.session().applyRequest();
  seal_again.initSeals(1).set(0, RawSession::Id(id));
  auto sealed_again = seal_again.send().wait(ws);
  auto failures = sealed_again.getFailures();
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(ToStatus(failures[0].getStatus()).code(), absl::StatusCode::kFailedPrecondition);

  // Abort of a sealed object, and of an unknown one.
  auto abort = owner.session().abortRequest();
  abort.setId(RawSession::Id(id));
  EXPECT_EQ(ToStatus(abort.send().wait(ws).getStatus()).code(),
            absl::StatusCode::kFailedPrecondition);
  auto abort_unknown = owner.session().abortRequest();
  abort_unknown.setId(RawSession::Id(ObjectID::FromRandom()));
  EXPECT_EQ(ToStatus(abort_unknown.send().wait(ws).getStatus()).code(),
            absl::StatusCode::kNotFound);

  // IDs of the wrong length.
  auto bad_create = owner.session().createRequest();
  bad_create.setId(ray::AsData("short"));
  bad_create.setSize(10);
  EXPECT_EQ(bad_create.send().wait(ws).getStatus().getCode(), rpc::Code::INVALID_ARGUMENT);
  auto bad_get = owner.session().getRequest();
  bad_get.initIds(1).set(0, ray::AsData(std::string(100, 'x')));
  bad_get.setTimeoutMs(-1);
  auto bad_get_reply = bad_get.send().wait(ws);
  ASSERT_EQ(bad_get_reply.getStatuses().size(), 1u);
  EXPECT_EQ(bad_get_reply.getStatuses()[0].getCode(), rpc::Code::INVALID_ARGUMENT);

  // Sizes the client library refuses before asking: larger than the store, and the largest.
  for (uint64_t size : {uint64_t{64 << 20} + 1, ~uint64_t{0}}) {
    auto too_big = owner.session().createRequest();
    too_big.setId(RawSession::Id(ObjectID::FromRandom()));
    too_big.setSize(size);
    auto reply = too_big.send().wait(ws);
    EXPECT_EQ(reply.getStatus().getCode(), rpc::Code::OBJECT_STORE_FULL) << size;
  }
  ExpectStoreServes();
}

TEST_F(BadInputTest, OnlyTheCreatorMaySealOrAbort) {
  auto owner = Connect("owner");
  ASSERT_NE(owner, nullptr);
  ObjectID id = ObjectID::FromRandom();
  auto object = owner->Create(id, 1000);
  ASSERT_TRUE(object.ok()) << object.status();

  {
    RawSession other(store_.socket_path());
    auto& ws = other.wait_scope();
    auto abort = other.session().abortRequest();
    abort.setId(RawSession::Id(id));
    EXPECT_EQ(ToStatus(abort.send().wait(ws).getStatus()).code(),
              absl::StatusCode::kPermissionDenied);
    auto seal = other.session().applyRequest();
    seal.initSeals(1).set(0, RawSession::Id(id));
    auto sealed = seal.send().wait(ws);
    auto failures = sealed.getFailures();
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(ToStatus(failures[0].getStatus()).code(), absl::StatusCode::kPermissionDenied);
    auto del = other.session().deleteRequest();
    del.initIds(1).set(0, RawSession::Id(id));
    auto deleted = del.send().wait(ws);
    auto del_failures = deleted.getFailures();
    ASSERT_EQ(del_failures.size(), 1u);
    EXPECT_EQ(ToStatus(del_failures[0].getStatus()).code(), absl::StatusCode::kFailedPrecondition);
  }

  // Untouched by all that: the owner still seals it.
  std::memset(object->data(), 3, 1000);
  ASSERT_TRUE(owner->Seal(*std::move(object)).ok());
  ASSERT_TRUE(owner->Flush().ok());
  auto got = owner->Get(id, absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->data()[999], 3);
}

TEST_F(BadInputTest, ObjectLargerThanTheStore) {
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  auto created = client->Create(ObjectID::FromRandom(), client->capacity() + 1);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kResourceExhausted) << created.status();
  EXPECT_NE(created.status().message().find("ObjectStoreFull"), std::string::npos);
  std::vector<uint8_t> data(client->capacity() + 1);
  EXPECT_EQ(client->Put(ObjectID::FromRandom(), data).code(), absl::StatusCode::kResourceExhausted);
  ExpectStoreServes();
}

TEST(StoreUnavailableTest, ConnectingToAMissingSocketFailsWithinTheTimeout) {
  const absl::Duration timeout = absl::Milliseconds(300);
  absl::Time start = absl::Now();
  auto client =
      StoreClient::Connect("/tmp/no-such-dir-for-ray/store.sock", {.connect_timeout = timeout});
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable) << client.status();
  // It retries until the timeout (the store may be starting), then gives up: a generous
  // bound, only to tell "gave up" from "hung".
  EXPECT_GE(took, timeout);
  EXPECT_LT(took, timeout + absl::Seconds(5));
}

// The store dies while a client is blocked in Get: the Get returns Unavailable.
void GetFailsWhenTheStoreDies(int signal) {
  testing::StoreProcess store({"--capacity=16M"});
  ASSERT_TRUE(store.ready());
  auto client = StoreClient::Connect(store.socket_path());
  ASSERT_TRUE(client.ok()) << client.status();
  ObjectID never = ObjectID::FromRandom();
  auto blocked = std::async(std::launch::async, [&] { return (*client)->Get(never); });
  // Not a timing assertion: only gives the request time to reach the store. Were it still
  // on its way, the result would have to be the same.
  ASSERT_EQ(blocked.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout)
      << "Get of an object nobody puts returned";
  int status = store.Kill(signal);
  if (signal == SIGTERM) {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
    EXPECT_NE(access(store.socket_path().c_str(), F_OK), 0) << "socket file left behind";
  }
  ASSERT_EQ(blocked.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "Get still blocked after the store died";
  auto got = blocked.get();
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();

  // Everything else fails the same way, without hanging.
  EXPECT_EQ((*client)->Contains(never).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*client)->Stats().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*client)->Create(ObjectID::FromRandom(), 10).status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_TRUE((*client)->Put(ObjectID::FromRandom(), Pattern(1, 10)).ok());  // batched
  EXPECT_EQ((*client)->Flush().code(), absl::StatusCode::kUnavailable);
}

TEST(StoreUnavailableTest, GetReturnsUnavailableWhenTheStoreIsKilled) {
  GetFailsWhenTheStoreDies(SIGKILL);
}

TEST(StoreUnavailableTest, GetReturnsUnavailableWhenTheStoreIsStopped) {
  GetFailsWhenTheStoreDies(SIGTERM);
}

}  // namespace
}  // namespace ray::store
