// Plain TCP sockets that speak the token handshake (handshake.h) and then leave the stream to
// their user: a worker on another node talks to its scheduler this way (worker.capnp frames).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ray::cluster {

// Connects to `address` (HOST:PORT) and presents `token`; the connected socket (blocking,
// close-on-exec). Unavailable if it cannot connect within `timeout`, PermissionDenied if the
// other end refuses the token.
absl::StatusOr<int> ConnectWithToken(const std::string& address, const std::string& token,
                                     absl::Duration timeout = absl::Seconds(5));

// Accepts TCP connections on its own thread. Each that presents the token within the timeout
// goes to `on_connection` (which owns the socket from then on); any other is closed, and a line
// saying why goes to stderr (never the token). One slow or silent client delays no other.
class TokenListener {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 0;  // 0: any free one
    std::string token;
    absl::Duration handshake_timeout = absl::Seconds(5);
    std::string what = "connection";  // for its log lines
  };
  static absl::StatusOr<std::unique_ptr<TokenListener>> Start(
      Options options, std::function<void(int fd)> on_connection);
  ~TokenListener();  // stops accepting; connections handed over are not touched

  int port() const { return port_; }

 private:
  TokenListener() = default;
  void Run();

  Options options_;
  std::function<void(int)> on_connection_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace ray::cluster
