// What one client may take from the store: sessions capped per connection and per node, a
// store out of descriptors that recovers once they are freed, and a Connect that gives up at
// its timeout whatever the other end does.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <memory>
#include <string>
#include <vector>

#include "ray/store/client.h"
#include "tests/store/raw_session.h"
#include "tests/store/store_process.h"
#include "tests/store/test_util.h"

namespace ray::store {
namespace {

using ::ray::testing::Channel;
using ::ray::testing::ChildProcess;

// A hostile client: one connection on which it opens sessions with `connect` calls.
// Connections made from one thread share that thread's event loop.
class RawConnection {
 public:
  RawConnection(kj::AsyncIoContext& io, const std::string& socket_path) : io_(io) {
    int fd = testing::ConnectRawSocket(socket_path);
    KJ_REQUIRE(fd >= 0, "cannot connect", socket_path);
    stream_ =
        io.lowLevelProvider->wrapUnixSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                                      kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
    rpc_ = kj::heap<capnp::TwoPartyClient>(*stream_, /*maxFdsPerMessage=*/3);
    store_ = rpc_->bootstrap().castAs<rpc::ObjectStore>();
  }

  // Opens one more session and waits for the store's answer: empty if it was opened, else the
  // store's error.
  std::string OpenSession() {
    auto request = store_.connectRequest();
    request.setClientName("hostile");
    rpc::Session::Client session = request.send().getSession();
    try {
      session.statsRequest().send().wait(io_.waitScope);
    } catch (const kj::Exception& e) {
      return e.getDescription().cStr();
    }
    sessions_.push_back(kj::mv(session));
    return "";
  }
  size_t sessions() const { return sessions_.size(); }

 private:
  kj::AsyncIoContext& io_;
  kj::Own<kj::AsyncCapabilityStream> stream_;
  kj::Own<capnp::TwoPartyClient> rpc_;
  rpc::ObjectStore::Client store_ = nullptr;
  std::vector<rpc::Session::Client> sessions_;
};

// Opens sessions on `connection` until the store refuses one (at most `most` tries); returns
// the refusal, empty if none came.
std::string OpenUntilRefused(RawConnection& connection, int most) {
  for (int i = 0; i < most; ++i) {
    std::string error = connection.OpenSession();
    if (!error.empty()) return error;
  }
  return "";
}

// A client of the library that puts and gets one object.
void ExpectServes(const std::string& socket_path) {
  auto client = StoreClient::Connect(socket_path, {.name = "bystander"});
  ASSERT_TRUE(client.ok()) << client.status();
  ObjectID id = ObjectID::FromRandom();
  ASSERT_TRUE((*client)->Put(id, std::vector<uint8_t>(10, 1)).ok());
  auto got = (*client)->Get(id, absl::Seconds(30));
  EXPECT_TRUE(got.ok()) << got.status();
}

TEST(ConnectionLimitsTest, SessionsPastTheCapsAreRefusedAndOthersAreServed) {
  testing::StoreProcess store(
      {"--max_objects=1024", "--max_sessions_per_connection=4", "--max_clients=10"});
  ASSERT_TRUE(store.ready());
  auto io = kj::setupAsyncIo();
  RawConnection first(io, store.socket_path());
  EXPECT_NE(OpenUntilRefused(first, 100).find("max_sessions_per_connection"), std::string::npos);
  EXPECT_EQ(first.sessions(), 4u);
  ExpectServes(store.socket_path());

  // Per node: 4 + 4 + 2 sessions, then no more from anyone.
  RawConnection second(io, store.socket_path());
  EXPECT_NE(OpenUntilRefused(second, 100).find("max_sessions_per_connection"), std::string::npos);
  RawConnection third(io, store.socket_path());
  EXPECT_NE(OpenUntilRefused(third, 100).find("max_clients"), std::string::npos);
  EXPECT_EQ(third.sessions(), 2u);
  auto refused = StoreClient::Connect(store.socket_path());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  EXPECT_NE(refused.status().message().find("the store already serves 10 clients"),
            std::string::npos)
      << refused.status();
  EXPECT_TRUE(store.alive());
}

TEST(ConnectionLimitsTest, StoreOutOfDescriptorsServesAgainOnceTheyAreFreed) {
  // Caps above what the descriptors allow: this store runs out of descriptors first.
  testing::StoreProcess store(
      {"--max_objects=1024", "--max_sessions_per_connection=100000", "--max_clients=100000"},
      /*max_open_files=*/64);
  ASSERT_TRUE(store.ready());
  {
    auto io = kj::setupAsyncIo();
    RawConnection hostile(io, store.socket_path());
    std::string error = OpenUntilRefused(hostile, 1000);
    EXPECT_NE(error.find("cannot take another client"), std::string::npos) << error;
    EXPECT_GT(hostile.sessions(), 10u);

    // Out of descriptors, the store cannot accept: a new client's Connect times out.
    auto refused = StoreClient::Connect(store.socket_path(), {.connect_timeout = absl::Seconds(1)});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kDeadlineExceeded) << refused.status();
    EXPECT_TRUE(store.alive());
  }  // the hostile client disconnects: its sessions' descriptors are freed

  ExpectServes(store.socket_path());
  EXPECT_TRUE(store.alive());
}

// A unix socket that listens and never accepts, so connections stay in its backlog.
class SilentListener {
 public:
  explicit SilentListener(const std::string& path) : path_(path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ok_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
          listen(fd_, 1) == 0;
  }
  ~SilentListener() {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
  }
  bool ok() const { return ok_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool ok_ = false;
};

// Connect to a socket whose owner never answers, in a child so that a hang fails the test at
// the child's bound instead of hanging it.
void ExpectConnectTimesOut(const std::string& socket_path) {
  ChildProcess child([&](Channel&) {
    auto client = StoreClient::Connect(socket_path, {.connect_timeout = absl::Milliseconds(200)});
    CHILD_CHECK(!client.ok());
    CHILD_CHECK(client.status().code() == absl::StatusCode::kDeadlineExceeded, client.status());
    return 0;
  });
  EXPECT_TRUE(child.ExitedOk(absl::Seconds(60))) << "Connect did not return in time";
}

TEST(ConnectionLimitsTest, ConnectToAStoreThatNeverAnswersTimesOut) {
  char dir_template[] = "/tmp/ray-silent-XXXXXX";
  std::string path = std::string(mkdtemp(dir_template)) + "/store.sock";
  SilentListener listener(path);
  ASSERT_TRUE(listener.ok());
  // The connection is queued (the kernel completes it), and nothing ever answers.
  ExpectConnectTimesOut(path);

  // With the backlog full, connect() itself would block.
  std::vector<int> queued;
  for (int i = 0; i < 64; ++i) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    ASSERT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd);
      break;
    }
    queued.push_back(fd);
  }
  ASSERT_LT(queued.size(), 64u) << "the listener's backlog never filled";
  ExpectConnectTimesOut(path);
  for (int fd : queued) close(fd);
  unlink(path.c_str());  // the listener's socket file, then its folder
  rmdir(path.substr(0, path.rfind('/')).c_str());
}

}  // namespace
}  // namespace ray::store
