// Object transfers between two real stores over TCP: an ObjectServer on store A, an
// ObjectPuller on store B. Large objects arrive byte for byte, pulls of one object share one
// transfer, a missing object is NotFound, and the server refuses wrong tokens, garbage and
// clients that vanish mid-transfer while it keeps serving the others.
#include <arpa/inet.h>
#include <capnp/rpc-twoparty.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "ray/cluster/handshake.h"
#include "ray/object_manager/object_puller.h"
#include "ray/object_manager/object_server.h"
#include "ray/rpc/object_transfer.capnp.h"
#include "tests/object_manager/transfer_test_util.h"

namespace ray::testing {
namespace {

using object_manager::ObjectPuller;
using object_manager::ObjectPullerOptions;
using object_manager::ObjectServer;
using object_manager::ObjectServerOptions;
using object_manager::PullPriority;

constexpr uint64_t kMiB = 1 << 20;

absl::Time Bound() { return absl::Now() + absl::Seconds(60); }

class TransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_a_.ready() && store_b_.ready());
    client_a_ = ConnectTo(store_a_);
    client_b_ = ConnectTo(store_b_);
    ASSERT_TRUE(client_a_ && client_b_);
    ObjectServerOptions options;
    options.credentials.token = kToken;
    options.store_socket = store_a_.socket_path();
    options.host = "127.0.0.1";
    options.handshake_timeout = absl::Seconds(1);
    options.log = [this](const std::string& line) {
      absl::MutexLock lock(&mu_);
      log_.push_back(line);
    };
    auto server = ObjectServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    source_ = Local(server_->port());
    puller_ = MakePuller(kToken);
  }

  std::unique_ptr<ObjectPuller> MakePuller(const std::string& token) {
    ObjectPullerOptions options;
    options.credentials.token = token;
    return std::make_unique<ObjectPuller>(*client_b_, options);
  }

  std::vector<std::string> Log() {
    absl::MutexLock lock(&mu_);
    return log_;
  }

  // Connects a raw TCP socket to the server, sends `bytes` and reads until the server closes
  // the connection (true) or 20 s pass (false).
  bool ClosedAfter(const std::string& bytes) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval bound{20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
    (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
    }
    close(fd);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  // Connects, sends `bytes` and closes the socket at once.
  void SendAndVanish(const std::string& bytes) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    close(fd);
  }

  StoreProcess store_a_{{"--capacity=512M"}};
  StoreProcess store_b_{{"--capacity=512M"}};
  std::unique_ptr<store::StoreClient> client_a_;
  std::unique_ptr<store::StoreClient> client_b_;
  std::unique_ptr<ObjectServer> server_;
  std::string source_;
  std::unique_ptr<ObjectPuller> puller_;
  absl::Mutex mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(mu_);
};

std::string Preamble(const std::string& token) {
  std::string bytes = "RAYT";
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>(token.size() >> (8 * i)));
  return bytes + token;
}

TEST_F(TransferTest, PullsA100MBObjectByteForByte) {
  ObjectID id = ObjectID::FromRandom();
  PutPattern(*client_a_, id, 100 * kMiB);
  ASSERT_TRUE(puller_->Pull(id, source_, PullPriority::kGet, Bound()).ok());
  EXPECT_EQ(CheckPattern(*client_b_, id, 100 * kMiB), "");
  EXPECT_EQ(puller_->stats().bytes_received, 100 * kMiB);
  // Empty and small objects too, on the same cached connection.
  ObjectID empty = ObjectID::FromRandom();
  ObjectID small = ObjectID::FromRandom();
  PutPattern(*client_a_, empty, 0);
  PutPattern(*client_a_, small, 1000);
  ASSERT_TRUE(puller_->Pull(empty, source_, PullPriority::kWait, Bound()).ok());
  ASSERT_TRUE(puller_->Pull(small, source_, PullPriority::kTaskArgument, Bound()).ok());
  EXPECT_EQ(CheckPattern(*client_b_, empty, 0), "");
  EXPECT_EQ(CheckPattern(*client_b_, small, 1000), "");
  EXPECT_EQ(puller_->stats().connections, 1u);
}

TEST_F(TransferTest, ConcurrentPullsOfOneObjectMakeOneCopy) {
  ObjectID id = ObjectID::FromRandom();
  PutPattern(*client_a_, id, 48 * kMiB);
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      results[i] = puller_->Pull(id, source_, static_cast<PullPriority>(i % 3), Bound());
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& status : results) EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(CheckPattern(*client_b_, id, 48 * kMiB), "");
  EXPECT_EQ(puller_->stats().bytes_received, 48 * kMiB);  // one transfer's worth
}

TEST_F(TransferTest, TwoClientsOfOneStorePullingOneObjectMakeOneCopy) {
  // As two processes of node B would: each its own store client and puller. One creates the
  // object, the other finds it created (AlreadyExists) and waits for its seal.
  ObjectID id = ObjectID::FromRandom();
  PutPattern(*client_a_, id, 32 * kMiB);
  auto other_client = ConnectTo(store_b_);
  ASSERT_TRUE(other_client);
  ObjectPullerOptions options;
  options.credentials.token = kToken;
  ObjectPuller other(*other_client, options);
  absl::Status mine, theirs;
  std::thread thread([&] { theirs = other.Pull(id, source_, PullPriority::kGet, Bound()); });
  mine = puller_->Pull(id, source_, PullPriority::kGet, Bound());
  thread.join();
  EXPECT_TRUE(mine.ok()) << mine;
  EXPECT_TRUE(theirs.ok()) << theirs;
  EXPECT_EQ(CheckPattern(*client_b_, id, 32 * kMiB), "");
  EXPECT_EQ(CheckPattern(*other_client, id, 32 * kMiB), "");
  EXPECT_EQ(puller_->stats().bytes_received + other.stats().bytes_received, 32 * kMiB);
}

TEST_F(TransferTest, AnOpenReaderKeepsItsObjectThroughADelete) {
  ObjectID id = ObjectID::FromRandom();
  PutPattern(*client_a_, id, 8 * kMiB);
  auto io = kj::setupAsyncIo();
  auto address = io.provider->getNetwork().parseAddress(source_).wait(io.waitScope);
  auto stream = address->connect().wait(io.waitScope);
  ASSERT_EQ(cluster::PresentToken(*stream, kToken).wait(io.waitScope),
            cluster::TokenAnswer::kAccepted);
  capnp::TwoPartyClient rpc(*stream);
  auto server = rpc.bootstrap().castAs<rpc::transfer::ObjectTransfer>();
  auto open = server.openRequest();
  open.setId(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(id.Binary().data()),
                                 ObjectID::kSize));
  auto opened = kj::heap(open.send().wait(io.waitScope));
  ASSERT_TRUE(opened->getFound());
  ASSERT_EQ(opened->getSize(), 8 * kMiB);
  ASSERT_TRUE(client_a_->Delete(std::span<const ObjectID>(&id, 1)).ok());
  // The delete waits for the reader's pin: every byte still reads as it was.
  auto reader = opened->getReader();
  for (uint64_t offset = 0; offset < 8 * kMiB; offset += 3 * kMiB) {
    auto read = reader.readRequest();
    read.setOffset(offset);
    read.setLength(3 * kMiB);
    auto reply = read.send().wait(io.waitScope);
    auto data = reply.getData();
    ASSERT_EQ(data.size(), std::min<uint64_t>(3 * kMiB, 8 * kMiB - offset));
    for (uint64_t i = 0; i < data.size(); ++i) {
      ASSERT_EQ(data[i], PatternByte(id, offset + i)) << offset + i;
    }
  }
  // Once the reader goes, so does the object (the store hears of the unpin in a batch).
  reader = nullptr;
  opened = nullptr;
  io.provider->getTimer().afterDelay(1 * kj::MILLISECONDS).wait(io.waitScope);
  absl::Time bound = absl::Now() + absl::Seconds(30);
  while (client_a_->Contains(id).value_or(false) && absl::Now() < bound) {
    io.provider->getTimer().afterDelay(10 * kj::MILLISECONDS).wait(io.waitScope);
  }
  EXPECT_FALSE(client_a_->Contains(id).value_or(true));
  EXPECT_EQ(puller_->Pull(id, source_, PullPriority::kGet, Bound()).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TransferTest, ManyObjectsAtOnceWithinTheBudget) {
  ObjectPullerOptions options;
  options.credentials.token = kToken;
  options.chunk_bytes = 1 * kMiB;
  options.max_bytes_in_flight = 6 * kMiB;
  ObjectPuller puller(*client_b_, options);
  std::vector<ObjectID> ids(12);
  for (auto& id : ids) {
    id = ObjectID::FromRandom();
    PutPattern(*client_a_, id, 9 * kMiB + 123);
  }
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] = puller.Pull(ids[i], source_, static_cast<PullPriority>(i % 3), Bound());
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(results[i].ok()) << results[i];
    EXPECT_EQ(CheckPattern(*client_b_, ids[i], 9 * kMiB + 123), "");
  }
  EXPECT_LE(puller.stats().peak_bytes_in_flight, 6 * kMiB);
  EXPECT_EQ(puller.stats().bytes_received, ids.size() * (9 * kMiB + 123));
  EXPECT_EQ(puller.stats().connections, 1u);
}

TEST_F(TransferTest, AnObjectAlreadyHereNeedsNoSource) {
  ObjectID id = ObjectID::FromRandom();
  PutPattern(*client_b_, id, 5000);
  EXPECT_TRUE(puller_->Pull(id, "127.0.0.1:1", PullPriority::kGet, Bound()).ok());
  EXPECT_EQ(puller_->stats().connections, 0u);
}

// A maker's seal is pipelined (Seal does not wait for the store), so the pull that the maker's
// report of the object starts may reach the source first: it waits for the seal there. (The
// seal is held back a while here, so that the pull is there first; the pull must not fail.)
TEST_F(TransferTest, APullThatReachesTheSourceBeforeTheSealWaitsForIt) {
  ObjectID id = ObjectID::FromRandom();
  auto object = client_a_->Create(id, 1 << 16);
  ASSERT_TRUE(object.ok()) << object.status();
  std::memset(object->data(), 9, object->size());
  absl::Status pulled;
  std::thread pull([&] { pulled = puller_->Pull(id, source_, PullPriority::kGet, Bound()); });
  absl::SleepFor(absl::Milliseconds(200));  // orders the events; nothing asserts a time
  ASSERT_TRUE(client_a_->Seal(*std::move(object)).ok());
  pull.join();
  ASSERT_TRUE(pulled.ok()) << pulled;
  auto copy = client_b_->Get(id, absl::Seconds(5));
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(copy->data()[copy->size() - 1], 9);
}

TEST_F(TransferTest, AMissingObjectIsNotFound) {
  ObjectID id = ObjectID::FromRandom();
  absl::Status status = puller_->Pull(id, source_, PullPriority::kGet, Bound());
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_NE(status.message().find(source_), std::string::npos) << status;
  EXPECT_EQ(client_b_->Contains(id).value_or(true), false);
}

TEST_F(TransferTest, AnUnreachableSourceIsUnavailable) {
  // A port that was free a moment ago: nothing listens there.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  socklen_t length = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length), 0);
  close(fd);
  std::string nowhere = Local(ntohs(addr.sin_port));
  absl::Status status = puller_->Pull(ObjectID::FromRandom(), nowhere, PullPriority::kGet, Bound());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_NE(status.message().find(nowhere), std::string::npos) << status;
}

TEST_F(TransferTest, AWrongTokenIsRefusedAndTheServerKeepsServing) {
  ObjectID id = ObjectID::FromRandom();
  PutPattern(*client_a_, id, 3 * kMiB);
  std::string wrong = "not-the-token-of-this-cluster";
  absl::Status status = MakePuller(wrong)->Pull(id, source_, PullPriority::kGet, Bound());
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_EQ(client_b_->Contains(id).value_or(true), false);
  ASSERT_TRUE(puller_->Pull(id, source_, PullPriority::kGet, Bound()).ok());
  EXPECT_EQ(CheckPattern(*client_b_, id, 3 * kMiB), "");
  std::vector<std::string> log = Log();
  ASSERT_FALSE(log.empty());
  EXPECT_NE(log[0].find("wrong cluster token"), std::string::npos) << log[0];
  for (const auto& line : log) {
    EXPECT_EQ(line.find(wrong), std::string::npos) << line;
    EXPECT_EQ(line.find(kToken), std::string::npos) << line;
  }
}

TEST_F(TransferTest, GarbageAndVanishingClientsLeaveTheServerServing) {
  ObjectID id = ObjectID::FromRandom();
  PutPattern(*client_a_, id, 64 * kMiB);
  EXPECT_TRUE(ClosedAfter(""));                        // silent: closed at the handshake timeout
  EXPECT_TRUE(ClosedAfter("GET / HTTP/1.1\r\n\r\n"));  // no token
  EXPECT_TRUE(ClosedAfter(Preamble(kToken) + std::string(5000, '\xa5')));  // garbage RPC
  // A frame that declares 4 MiB and brings 8 bytes, then the client goes.
  std::string frame("\0\0\0\0\0\0\x08\0", 8);
  SendAndVanish(Preamble(kToken) + frame + std::string(8, '\0'));

  // A real client asks for many chunks and vanishes before reading the replies.
  {
    auto io = kj::setupAsyncIo();
    auto address = io.provider->getNetwork().parseAddress(source_).wait(io.waitScope);
    auto stream = address->connect().wait(io.waitScope);
    ASSERT_EQ(cluster::PresentToken(*stream, kToken).wait(io.waitScope),
              cluster::TokenAnswer::kAccepted);
    capnp::TwoPartyClient rpc(*stream);
    auto server = rpc.bootstrap().castAs<rpc::transfer::ObjectTransfer>();
    auto open = server.openRequest();
    open.setId(capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(id.Binary().data()),
                                   ObjectID::kSize));
    auto opened = open.send().wait(io.waitScope);
    ASSERT_TRUE(opened.getFound());
    auto reader = opened.getReader();
    // Out of bounds and too long: errors for these calls, not the connection's end.
    auto past = reader.readRequest();
    past.setOffset(65 * kMiB);
    past.setLength(10);
    EXPECT_ANY_THROW(past.send().wait(io.waitScope));
    auto huge = reader.readRequest();
    huge.setLength(rpc::transfer::MAX_READ_BYTES + 1);
    EXPECT_ANY_THROW(huge.send().wait(io.waitScope));
    std::vector<kj::Promise<void>> reads;
    for (int i = 0; i < 16; ++i) {
      auto read = reader.readRequest();
      read.setOffset(i * 4 * kMiB);
      read.setLength(4 * kMiB);
      reads.push_back(read.send().ignoreResult());
    }
    // Let the requests go out, and vanish before reading the replies.
    io.provider->getTimer().afterDelay(1 * kj::MILLISECONDS).wait(io.waitScope);
    stream->shutdownWrite();
  }  // everything dropped: the socket closes with replies unread

  ASSERT_TRUE(puller_->Pull(id, source_, PullPriority::kGet, Bound()).ok());
  EXPECT_EQ(CheckPattern(*client_b_, id, 64 * kMiB), "");
  std::string log;
  for (const auto& line : Log()) log += line + "\n";
  EXPECT_NE(log.find("no cluster token in time"), std::string::npos) << log;
  EXPECT_NE(log.find("no cluster token (not a ray cluster client, or garbage)"), std::string::npos)
      << log;
}

}  // namespace
}  // namespace ray::testing
