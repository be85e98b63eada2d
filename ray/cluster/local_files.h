// What the nodes of one user on one machine share through files: the folder that holds their
// session folders ($TMPDIR or /tmp, then ray-<uid>, mode 0700), each head's token (mode 0600)
// and the latest cluster started here (for address "auto"); the settings read from the
// environment; new tokens and node IDs.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ray::cluster {

// The user's folder for ray's nodes on this machine, made (0700) if missing. Refused if it is
// not a folder of this user's with that mode.
absl::StatusOr<std::string> UserRoot();

// The token file of the cluster whose head listens at `address` (HOST:PORT).
std::string TokenFile(const std::string& root, const std::string& address);
// Writes it, mode 0600.
absl::Status WriteTokenFile(const std::string& root, const std::string& address,
                            const std::string& token);
// The token for joining `address`: RAY_AUTH_TOKEN if set, else its head's token file here.
absl::StatusOr<std::string> FindToken(const std::string& address);

// Records `address` as the latest cluster started on this machine; LatestCluster reads it
// (NotFound if none).
absl::Status WriteLatestCluster(const std::string& root, const std::string& address);
absl::StatusOr<std::string> LatestCluster();
// "auto" becomes the latest cluster's address; anything else stays.
absl::StatusOr<std::string> ResolveAddress(const std::string& address);

// 32 random bytes (getrandom), hex.
std::string NewToken();
// 28 random bytes, hex (as Ray's node IDs).
std::string NewNodeId();

// Liveness: a node heartbeats every `period`; the head marks it dead after `failure_threshold`
// periods without one. From RAY_HEALTH_CHECK_PERIOD_MS (default 1000) and
// RAY_HEALTH_CHECK_FAILURE_THRESHOLD (default 5).
struct HealthOptions {
  absl::Duration period = absl::Seconds(1);
  int failure_threshold = 5;
};
HealthOptions HealthFromEnv();
// How long the head waits for a new connection's token: RAY_HANDSHAKE_TIMEOUT_MS (default
// 5000).
absl::Duration HandshakeTimeoutFromEnv();

}  // namespace ray::cluster
