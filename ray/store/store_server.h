// Serves an ObjectStore over Cap'n Proto RPC on a unix socket: one Session per client,
// shared-memory descriptors passed with the capabilities, waits for unsealed objects, and the
// stream of seal notifications. Runs on the calling thread's KJ event loop.
#pragma once

#include <kj/async-io.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "ray/store/object_store.h"

namespace ray::store {

// What one client may cost the store (the node-wide cap on sessions is
// StoreOptions::max_clients).
struct ServerOptions {
  // Sessions (`connect` calls) one connection may hold at once; the one past it fails with an
  // overloaded error. The client library opens one.
  uint32_t max_sessions_per_connection = 16;
  // Seal notifications a subscriber may have waiting, unsent because it has not read the
  // earlier ones, before the store closes its connection (the client then sees the store as
  // unavailable rather than missing notifications). 24 bytes each.
  uint32_t max_unsent_seals = 1 << 20;
};

class StoreServer {
 public:
  StoreServer(ObjectStore& store, kj::AsyncIoContext& io, const ServerOptions& options = {});
  // Ends every session; runs the event loop to do so, so not from inside its callbacks.
  ~StoreServer();

  // Binds `socket_path` (replacing a stale socket file) and accepts clients until the
  // returned promise is dropped. Bad input on a connection closes only that connection. When
  // accepting fails (out of descriptors: EMFILE) Run backs off and retries; the waiting client
  // is accepted once descriptors are free again.
  absl::Status Listen(const std::string& socket_path);
  kj::Promise<void> Run();

  struct Impl;  // defined in store_server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ray::store
