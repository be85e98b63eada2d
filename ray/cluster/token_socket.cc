#include "ray/cluster/token_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ray/cluster/handshake.h"

namespace ray::cluster {
namespace {

int PollMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
}

absl::Status SplitAddress(const std::string& address, std::string& host, int& port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("not HOST:PORT: ", address));
  }
  host = address.substr(0, colon);
  return absl::OkStatus();
}

void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace

absl::StatusOr<int> ConnectWithToken(const std::string& address, const std::string& token,
                                     absl::Duration timeout) {
  std::string host;
  int port = 0;
  if (absl::Status s = SplitAddress(address, host, port); !s.ok()) return s;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", host));
  }
  const absl::Time deadline = absl::Now() + timeout;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  auto fail = [&](absl::Status status) {
    close(fd);
    return status;
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno != EINPROGRESS) {
    return fail(absl::UnavailableError(
        absl::StrCat("cannot connect to ", address, ": ", std::strerror(errno))));
  }
  pollfd p{fd, POLLOUT, 0};
  int error = 0;
  socklen_t length = sizeof(error);
  if (poll(&p, 1, PollMs(deadline)) != 1 ||
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
    return fail(absl::UnavailableError(absl::StrCat(
        "cannot connect to ", address, ": ", error != 0 ? std::strerror(error) : "timed out")));
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  NoDelay(fd);
  std::string greeting = TokenGreeting(token);
  if (send(fd, greeting.data(), greeting.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(greeting.size())) {
    return fail(absl::UnavailableError(absl::StrCat("connection to ", address, " lost")));
  }
  p = {fd, POLLIN, 0};
  unsigned char answer = 0;
  if (poll(&p, 1, PollMs(deadline)) != 1 || recv(fd, &answer, 1, 0) != 1 ||
      answer != kTokenAccepted) {
    return fail(absl::PermissionDeniedError(
        absl::StrCat(address, " refused the cluster token (or did not answer in time)")));
  }
  return fd;
}

absl::StatusOr<std::unique_ptr<TokenListener>> TokenListener::Start(
    Options options, std::function<void(int fd)> on_connection) {
  std::unique_ptr<TokenListener> listener(new TokenListener);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options.port);
  if (inet_pton(AF_INET, options.host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: ", options.host));
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  socklen_t length = sizeof(addr);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 128) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.host, ":", options.port, ": ", why));
  }
  listener->listen_fd_ = fd;
  listener->port_ = ntohs(addr.sin_port);
  listener->stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  listener->options_ = std::move(options);
  listener->on_connection_ = std::move(on_connection);
  listener->thread_ = std::thread([raw = listener.get()] { raw->Run(); });
  return listener;
}

TokenListener::~TokenListener() {
  uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(stop_fd_);
}

void TokenListener::Run() {
  // A connection that has not presented its token yet.
  struct Pending {
    int fd;
    absl::Time deadline;
    std::string peer;
    std::string received;
  };
  std::vector<Pending> pending;
  auto refuse = [&](Pending& p, const std::string& why) {
    fprintf(stderr, "ray: refused a %s from %s: %s\n", options_.what.c_str(), p.peer.c_str(),
            why.c_str());
    close(p.fd);
    p.fd = -1;
  };
  while (true) {
    std::vector<pollfd> fds = {{stop_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    absl::Time next = absl::InfiniteFuture();
    for (const Pending& p : pending) {
      fds.push_back({p.fd, POLLIN, 0});
      next = std::min(next, p.deadline);
    }
    int timeout = next == absl::InfiniteFuture() ? -1 : PollMs(next);
    if (poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) break;
    // Only the connections polled have an entry in `fds`: those accepted now are read next time.
    const size_t polled = pending.size();
    if (fds[1].revents & POLLIN) {
      sockaddr_in peer{};
      socklen_t length = sizeof(peer);
      int fd;
      while ((fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &length,
                           SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
        char ip[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
        pending.push_back({fd, absl::Now() + options_.handshake_timeout,
                           absl::StrCat(ip, ":", ntohs(peer.sin_port)), ""});
      }
    }
    for (size_t i = 0; i < polled; ++i) {
      Pending& p = pending[i];
      if (fds[2 + i].revents == 0) {
        if (absl::Now() >= p.deadline) refuse(p, "it presented no token in time");
        continue;
      }
      char buffer[kMaxTokenBytes + kGreetingHeaderBytes];
      size_t want = kGreetingHeaderBytes;
      uint32_t token_length = 0;
      if (p.received.size() >= kGreetingHeaderBytes) {
        ReadGreetingHeader(reinterpret_cast<const unsigned char*>(p.received.data()), token_length);
        want += token_length;
      }
      ssize_t n = recv(p.fd, buffer, want - p.received.size(), 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
      if (n <= 0) {
        refuse(p, "it closed before presenting a token");
        continue;
      }
      p.received.append(buffer, n);
      if (p.received.size() == kGreetingHeaderBytes) {
        std::string why = ReadGreetingHeader(
            reinterpret_cast<const unsigned char*>(p.received.data()), token_length);
        if (!why.empty()) refuse(p, why);
        continue;
      }
      if (p.received.size() < want) continue;
      if (!TokensEqual(std::string_view(p.received).substr(kGreetingHeaderBytes), options_.token)) {
        refuse(p, "wrong cluster token");
        continue;
      }
      unsigned char ok = kTokenAccepted;
      if (send(p.fd, &ok, 1, MSG_NOSIGNAL) != 1) {
        refuse(p, "it closed during the handshake");
        continue;
      }
      fcntl(p.fd, F_SETFL, fcntl(p.fd, F_GETFL) & ~O_NONBLOCK);
      NoDelay(p.fd);
      on_connection_(p.fd);
      p.fd = -1;
    }
    std::erase_if(pending, [](const Pending& p) { return p.fd < 0; });
  }
  for (const Pending& p : pending) close(p.fd);
}

}  // namespace ray::cluster
