// Serves a Cap'n Proto bootstrap capability over TCP to the connections that open with the
// cluster's credentials (cluster_stream.h: TLS if on, the token); any other is closed, and a line
// saying why goes to stderr (never the token). Runs on the calling thread's KJ event loop. The head
// (cluster.capnp) and each node (node.capnp) serve this way.
#pragma once

#include <capnp/capability.h>
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/cluster/cluster_stream.h"

namespace ray::cluster {

class ClusterRpcServer : private kj::TaskSet::ErrorHandler {
 public:
  // `log_prefix` starts its log lines ("ray head").
  ClusterRpcServer(kj::AsyncIoContext& io, capnp::Capability::Client bootstrap,
                   Credentials credentials, absl::Duration handshake_timeout,
                   std::string log_prefix);

  // Binds `host`:`port` (port 0: any free one); returns the port.
  absl::StatusOr<int> Listen(const std::string& host, int port);
  // Accepts connections until the promise is dropped. REQUIRES: Listen succeeded.
  kj::Promise<void> Run();

  void Log(const std::string& line) const;

 private:
  void taskFailed(kj::Exception&& e) override;
  kj::Promise<void> AcceptLoop();
  void Serve(kj::Own<kj::AsyncIoStream> stream);

  kj::AsyncIoContext& io_;
  capnp::TwoPartyServer rpc_;
  const Credentials credentials_;
  const absl::Duration handshake_timeout_;
  const std::string log_prefix_;
  kj::Own<kj::ConnectionReceiver> listener_;
  kj::TaskSet handshakes_{*this};
};

}  // namespace ray::cluster
