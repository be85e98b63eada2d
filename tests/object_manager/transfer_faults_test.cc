// A source that dies or stalls mid-transfer: the server runs in a forked child, serving store A,
// with a fault point armed (object_server.read, ray/faults). The puller returns Unavailable
// naming the source (or DeadlineExceeded for a stall), store B holds nothing of the object,
// and a later pull from a good source works.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "ray/faults/fault_injection.h"
#include "ray/object_manager/object_puller.h"
#include "ray/object_manager/object_server.h"
#include "tests/object_manager/transfer_test_util.h"

namespace ray::testing {
namespace {

using object_manager::ObjectPuller;
using object_manager::ObjectPullerOptions;
using object_manager::ObjectServer;
using object_manager::ObjectServerOptions;
using object_manager::PullPriority;

constexpr uint64_t kMiB = 1 << 20;

ObjectServerOptions ServerOptions(const StoreProcess& store) {
  ObjectServerOptions options;
  options.credentials.token = kToken;
  options.store_socket = store.socket_path();
  options.host = "127.0.0.1";
  return options;
}

// An object server on `store` in a child process, with `fault` armed there (a fault spec,
// ray/faults/fault_injection.h). Fork it before this process starts any thread.
class ServerProcess {
 public:
  ServerProcess(const StoreProcess& store, const std::string& fault) {
    int ready[2];
    if (pipe(ready) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      close(ready[0]);
      if (!faults::ArmFromSpec(fault).ok()) _exit(2);
      auto server = ObjectServer::Start(ServerOptions(store));
      if (!server.ok()) _exit(3);
      int port = (*server)->port();
      (void)!write(ready[1], &port, sizeof(port));
      for (;;) pause();
    }
    close(ready[1]);
    if (read(ready[0], &port_, sizeof(port_)) != sizeof(port_)) port_ = 0;
    close(ready[0]);
  }
  ~ServerProcess() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  int port() const { return port_; }
  // The child's wait status once it ended (blocks until then).
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    return status;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

class TransferFaultsTest : public ::testing::Test {
 protected:
  void Start(const std::string& fault) {
    ASSERT_TRUE(store_a_.ready() && store_b_.ready());
    server_process_ = std::make_unique<ServerProcess>(store_a_, fault);  // no thread yet
    ASSERT_NE(server_process_->port(), 0);
    client_a_ = ConnectTo(store_a_);
    client_b_ = ConnectTo(store_b_);
    ASSERT_TRUE(client_a_ && client_b_);
    puller_ = MakePuller();
  }

  std::unique_ptr<ObjectPuller> MakePuller() {
    ObjectPullerOptions options;
    options.credentials.token = kToken;
    options.chunk_bytes = 1 * kMiB;
    options.max_bytes_in_flight = 4 * kMiB;
    return std::make_unique<ObjectPuller>(*client_b_, options);
  }

  // B holds nothing of `id`: not sealed, not created (a reader that fails at absence says so
  // at once), no bytes in use.
  void ExpectNothingOf(const ObjectID& id) {
    EXPECT_EQ(client_b_->Contains(id).value_or(true), false);
    auto got = client_b_->Get(id, absl::Seconds(30), store::StoreClient::IfAbsent::kFail);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
    auto stats = client_b_->Stats();
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->used, 0u);
  }

  // A good source pulls the object whole after the failure.
  void ExpectAGoodSourceWorks(const ObjectID& id, uint64_t size) {
    auto server = ObjectServer::Start(ServerOptions(store_a_));
    ASSERT_TRUE(server.ok()) << server.status();
    absl::Status status = puller_->Pull(id, Local((*server)->port()), PullPriority::kGet,
                                        absl::Now() + absl::Seconds(60));
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(CheckPattern(*client_b_, id, size), "");
  }

  StoreProcess store_a_{{"--capacity=256M"}};
  StoreProcess store_b_{{"--capacity=256M"}};
  std::unique_ptr<ServerProcess> server_process_;
  std::unique_ptr<store::StoreClient> client_a_;
  std::unique_ptr<store::StoreClient> client_b_;
  std::unique_ptr<ObjectPuller> puller_;
};

TEST_F(TransferFaultsTest, ASourceKilledMidTransferLeavesNoHalfObject) {
  Start("object_server.read=kill@6");  // the sixth chunk's read kills the server
  ObjectID id = ObjectID::FromRandom();
  PutPattern(*client_a_, id, 40 * kMiB);
  std::string source = Local(server_process_->port());
  absl::Status status =
      puller_->Pull(id, source, PullPriority::kGet, absl::Now() + absl::Seconds(60));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_NE(status.message().find(source), std::string::npos) << status;
  int wait_status = server_process_->Wait();
  EXPECT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL);
  ExpectNothingOf(id);
  // Pulling from the dead source again fails the same way, without a hang.
  status = puller_->Pull(id, source, PullPriority::kGet, absl::Now() + absl::Seconds(60));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  ExpectAGoodSourceWorks(id, 40 * kMiB);
}

TEST_F(TransferFaultsTest, AStalledSourceEndsAtTheDeadlineWithNoHalfObject) {
  Start("object_server.read=stall@3");
  ObjectID id = ObjectID::FromRandom();
  PutPattern(*client_a_, id, 16 * kMiB);
  std::string source = Local(server_process_->port());
  absl::Status status =
      puller_->Pull(id, source, PullPriority::kGet, absl::Now() + absl::Milliseconds(500));
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  ExpectNothingOf(id);
  ExpectAGoodSourceWorks(id, 16 * kMiB);
}

TEST_F(TransferFaultsTest, DestroyingThePullerCancelsItsPulls) {
  Start("object_server.read=stall@1");  // the first chunk never comes; the others do
  ObjectID id = ObjectID::FromRandom();
  PutPattern(*client_a_, id, 12 * kMiB);
  std::string source = Local(server_process_->port());
  absl::Status status;
  std::thread thread([&] { status = puller_->Pull(id, source, PullPriority::kWait); });
  absl::Time bound = absl::Now() + absl::Seconds(60);
  while (puller_->stats().bytes_received < 11 * kMiB && absl::Now() < bound) {
    std::this_thread::yield();
  }
  ASSERT_EQ(puller_->stats().bytes_received, 11 * kMiB);
  puller_.reset();
  thread.join();
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled) << status;
  ExpectNothingOf(id);
  puller_ = MakePuller();
  ExpectAGoodSourceWorks(id, 12 * kMiB);
}

// PullAll runs its transfers side by side: an object from a good source arrives while the
// first object's source stalls (pulled one after the other, it would wait behind it forever).
TEST_F(TransferFaultsTest, PullAllCopiesSideBySide) {
  Start("object_server.read=stall@1");  // the stalled source's first chunk never comes
  ObjectID stalled = ObjectID::FromRandom();
  ObjectID good = ObjectID::FromRandom();
  PutPattern(*client_a_, stalled, 2 * kMiB);
  PutPattern(*client_a_, good, 6 * kMiB);
  auto server = ObjectServer::Start(ServerOptions(store_a_));
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<object_manager::ObjectSource> objects = {{stalled, Local(server_process_->port())},
                                                       {good, Local((*server)->port())}};
  std::vector<absl::Status> statuses;
  std::thread thread([&] { statuses = puller_->PullAll(objects, PullPriority::kGet); });
  auto arrived = client_b_->Get(good, absl::Seconds(60), store::StoreClient::IfAbsent::kWait);
  ASSERT_TRUE(arrived.ok()) << arrived.status();
  EXPECT_EQ(CheckPattern(*client_b_, good, 6 * kMiB), "");
  puller_.reset();  // ends the stalled transfer
  thread.join();
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[0].code(), absl::StatusCode::kCancelled) << statuses[0];
  EXPECT_TRUE(statuses[1].ok()) << statuses[1];
  EXPECT_EQ(client_b_->Contains(stalled).value_or(true), false);
}

}  // namespace
}  // namespace ray::testing
