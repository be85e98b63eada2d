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

class StoreServer {
 public:
  StoreServer(ObjectStore& store, kj::AsyncIoContext& io);
  // Ends every session; runs the event loop to do so, so not from inside its callbacks.
  ~StoreServer();

  // Binds `socket_path` (replacing a stale socket file) and accepts clients until the
  // returned promise is dropped. Bad input on a connection closes only that connection.
  absl::Status Listen(const std::string& socket_path);
  kj::Promise<void> Run();

  struct Impl;  // defined in store_server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ray::store
