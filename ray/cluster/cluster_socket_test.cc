#include "ray/cluster/cluster_socket.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace ray::cluster {
namespace {

// A TCP connection to 127.0.0.1:port that sends nothing.
int ConnectSilently(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  return fd;
}

// Counts the connections a listener hands over (on its thread).
struct HandedOver {
  absl::Mutex mu;
  int count ABSL_GUARDED_BY(mu) = 0;
  // The count once it is at least `n`, or what it is after a generous bound.
  int AtLeast(int n) {
    absl::MutexLock lock(&mu);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return count >= n; };
    mu.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(30));
    return count;
  }
};

// A listener for the token "secret" that closes what it is handed, counting it.
absl::StatusOr<std::unique_ptr<ClusterSocketListener>> Listen(HandedOver& handed_over) {
  return ClusterSocketListener::Start(
      {.credentials = {.token = "secret"}, .what = "test connection"}, [&handed_over](int fd) {
        close(fd);
        absl::MutexLock lock(&handed_over.mu);
        ++handed_over.count;
      });
}

// Clients arriving while others are still in their handshake (a silent one here) are each
// answered: a new connection is read only once it has been polled.
TEST(ClusterSocketListenerTest, EveryClientWithTheTokenIsAcceptedWhileOthersAreSilent) {
  HandedOver handed_over;
  auto listener = Listen(handed_over);
  ASSERT_TRUE(listener.ok()) << listener.status();
  const int port = (*listener)->port();
  int silent = ConnectSilently(port);
  constexpr int kClients = 64;
  std::atomic<int> accepted{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      auto fd = ConnectClusterSocket(absl::StrCat("127.0.0.1:", port), {.token = "secret"});
      EXPECT_TRUE(fd.ok()) << fd.status();
      if (fd.ok()) {
        ++accepted;
        close(*fd);
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(accepted.load(), kClients);
  // A client has its answer before the listener hands its socket over: wait for that.
  EXPECT_EQ(handed_over.AtLeast(kClients), kClients);
  close(silent);
}

TEST(ClusterSocketListenerTest, AWrongTokenIsRefused) {
  HandedOver handed_over;
  auto listener = Listen(handed_over);
  ASSERT_TRUE(listener.ok()) << listener.status();
  auto fd =
      ConnectClusterSocket(absl::StrCat("127.0.0.1:", (*listener)->port()), {.token = "not-it"});
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kPermissionDenied);
  absl::MutexLock lock(&handed_over.mu);
  EXPECT_EQ(handed_over.count, 0);
}

}  // namespace
}  // namespace ray::cluster
