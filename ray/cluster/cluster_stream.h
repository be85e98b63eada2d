// How every cluster connection starts, on both ends: TCP, then TLS when the cluster uses it
// (tls.h), then the token (handshake.h). Only then does the connection's protocol (Cap'n Proto
// RPC, or worker.capnp frames) begin. The head, the nodes' services, the object servers and
// the drivers' listeners for remote workers all accept this way; their clients connect this way.
#pragma once

#include <kj/async-io.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/cluster/tls.h"

namespace ray::cluster {

// What this process presents and checks on a cluster connection.
struct Credentials {
  std::string token;
  std::shared_ptr<const ClusterTls> tls;  // null: plain TCP
};

// `token` and the TLS configuration of the environment (TlsFilesFromEnv); InvalidArgument if
// that configuration is incomplete or its files are unusable.
absl::StatusOr<Credentials> CredentialsFromEnv(std::string token);

// Connects to `address` (HOST:PORT) and opens the connection with `credentials`. `what` names
// the server in errors ("the cluster head"). Unavailable if it cannot be reached within
// `timeout`; PermissionDenied if it refuses the token, requires TLS this end does not use, or
// the TLS handshake fails (a certificate the other end does not trust, or no TLS there).
kj::Promise<absl::StatusOr<kj::Own<kj::AsyncIoStream>>> ConnectCluster(
    kj::AsyncIoProvider& io, const std::string& address, const Credentials& credentials,
    absl::Duration timeout, const std::string& what);

// Server end of a connection just accepted: resolves to the stream, ready for the protocol, or
// to null once `log` has been told why it was refused (never quoting the token). The whole
// opening (TLS and the token) must be done within `timeout`.
kj::Promise<kj::Maybe<kj::Own<kj::AsyncIoStream>>> AcceptCluster(
    kj::Timer& timer, kj::Own<kj::AsyncIoStream> stream, const Credentials& credentials,
    absl::Duration timeout, std::function<void(const std::string&)> log);

}  // namespace ray::cluster
