// Serves the sealed objects of this node's store to other nodes' pullers (object_puller.h)
// over TCP: each connection opens with the cluster's credentials (ray/cluster/cluster_stream.h:
// TLS if on, the token), then speaks Cap'n Proto RPC with ObjectTransfer
// (ray/rpc/object_transfer.capnp) as bootstrap. A connection that fails to open (a wrong or
// missing token, no TLS where TLS is on), or that sends garbage, is closed and logged; the
// server keeps serving the others. Runs on a thread of its own with its own KJ event loop, so
// a node daemon and a driver can both embed it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/cluster/cluster_stream.h"

namespace ray::object_manager {

struct ObjectServerOptions {
  cluster::Credentials credentials;  // what every connection must open with
  std::string store_socket;          // the local store, which the server connects to as a client
  std::string host = "0.0.0.0";
  int port = 0;  // 0: any free port (ObjectServer::port() says which)
  // A connection that has not opened (TLS, the token) by then is closed.
  absl::Duration handshake_timeout = absl::Seconds(5);
  // Where refused connections are reported (on the server's thread; never with the token).
  // Unset: a line on stderr.
  std::function<void(const std::string&)> log;
};

class ObjectServer {
 public:
  // Connects to the store, listens and starts serving. Unavailable if the store or the port
  // cannot be reached (the store client's own errors otherwise).
  static absl::StatusOr<std::unique_ptr<ObjectServer>> Start(ObjectServerOptions options);
  // Closes the listener and every connection (releasing the objects they pinned), then the
  // store client.
  ~ObjectServer();
  ObjectServer(const ObjectServer&) = delete;
  ObjectServer& operator=(const ObjectServer&) = delete;

  int port() const { return port_; }

  struct State;  // object_server.cc

 private:
  ObjectServer() = default;
  std::unique_ptr<State> state_;
  int port_ = 0;
};

}  // namespace ray::object_manager
