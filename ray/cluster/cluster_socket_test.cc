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

// Clients arriving while others are still in their handshake (a silent one here) are each
// answered: a new connection is read only once it has been polled.
TEST(ClusterSocketListenerTest, EveryClientWithTheTokenIsAcceptedWhileOthersAreSilent) {
  std::atomic<int> handed_over{0};
  auto listener = ClusterSocketListener::Start(
      {.credentials = {.token = "secret"}, .what = "test connection"}, [&](int fd) {
        ++handed_over;
        close(fd);
      });
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
  EXPECT_EQ(handed_over.load(), kClients);
  close(silent);
}

TEST(ClusterSocketListenerTest, AWrongTokenIsRefused) {
  std::atomic<int> handed_over{0};
  auto listener = ClusterSocketListener::Start(
      {.credentials = {.token = "secret"}, .what = "test connection"}, [&](int fd) {
        ++handed_over;
        close(fd);
      });
  ASSERT_TRUE(listener.ok()) << listener.status();
  auto fd =
      ConnectClusterSocket(absl::StrCat("127.0.0.1:", (*listener)->port()), {.token = "not-it"});
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(handed_over.load(), 0);
}

}  // namespace
}  // namespace ray::cluster
