// The cluster head: serves the node table over Cap'n Proto RPC on TCP (cluster.capnp) to
// connections that present the cluster token first (handshake.h), and marks nodes dead when
// their connection ends or their heartbeats stop; keeps shipped programs and the actor host of
// each program (started on its node when first asked for). Runs on the calling thread's KJ
// event loop.
#pragma once

#include <kj/async-io.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/cluster/cluster_stream.h"
#include "ray/cluster/local_files.h"
#include "ray/cluster/node_service.h"
#include "ray/cluster/node_table.h"

namespace ray::cluster {

struct HeadOptions {
  Credentials credentials;  // what every connection must open with
  HealthOptions health;
  // A connection that has not opened (TLS, the token) by then is closed.
  absl::Duration handshake_timeout = absl::Seconds(5);
  // The head node's store bytes in use, read at each liveness check; null: not reported.
  std::function<uint64_t()> local_store_used;
  // Where the head keeps shipped programs' files (made, mode 0700, by Listen); "": it keeps
  // none and refuses uploads.
  std::string program_dir;
  // At most this many bytes of programs' files (stored and being uploaded).
  uint64_t max_program_bytes = uint64_t{64} << 30;
  // Starts an actor host (`request.host`, its `scheduler` the head's address) on the head's
  // node; resolves to "" once it told its launcher it registered, or why it did not start. Null:
  // the head starts no actor hosts.
  std::function<kj::Promise<std::string>(WorkerStartRequest)> start_actor_host;
};

class HeadServer {
 public:
  HeadServer(kj::AsyncIoContext& io, HeadOptions options);
  ~HeadServer();

  // Binds `host`:`port` (port 0: any free one) and opens the program store; returns the port.
  absl::StatusOr<int> Listen(const std::string& host, int port);
  // Puts the head's own node in the table (it sends no heartbeats: it lives with the head).
  absl::Status AddLocalNode(NodeEntry node);
  // Accepts connections and checks liveness until the promise is dropped.
  kj::Promise<void> Run();

  struct Impl;  // head_server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ray::cluster
