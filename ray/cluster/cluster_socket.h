// Cluster connections as plain sockets, for protocols that run on a file descriptor rather than
// on KJ streams: a worker on another node talks to its scheduler this way (worker.capnp frames).
// They open as every cluster connection does (cluster_stream.h: TLS if on, then the token); the
// socket handed over then carries the protocol in the clear. With TLS, a thread of this process
// encrypts it: the socket is one end of a socketpair, the TLS connection the other's.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/cluster/cluster_stream.h"

namespace ray::cluster {

class SocketLoop;

// Connects to `address` (HOST:PORT) and opens the connection with `credentials`; the socket
// (blocking, close-on-exec). ConnectCluster's errors.
absl::StatusOr<int> ConnectClusterSocket(const std::string& address, const Credentials& credentials,
                                         absl::Duration timeout = absl::Seconds(5));

// Accepts TCP connections on its own thread. Each that opens with the credentials within the
// timeout goes to `on_connection` (on that thread; it owns the socket from then on); any other is
// closed, and a line saying why goes to stderr (never the token). One slow or silent client
// delays no other. With TLS, the sockets handed over work while the listener lives.
class ClusterSocketListener {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int port = 0;  // 0: any free one
    Credentials credentials;
    absl::Duration handshake_timeout = absl::Seconds(5);
    std::string what = "connection";  // for its log lines
  };
  static absl::StatusOr<std::unique_ptr<ClusterSocketListener>> Start(
      Options options, std::function<void(int fd)> on_connection);
  ~ClusterSocketListener();

  int port() const { return port_; }

 private:
  ClusterSocketListener() = default;

  Options options_;
  std::function<void(int)> on_connection_;
  int port_ = 0;
  std::unique_ptr<SocketLoop> loop_;  // last: stopped first
};

}  // namespace ray::cluster
