// Runs an object store in this process until SIGTERM or SIGINT: what the ray_store binary
// does, and what a node's zygote runs in the store process it forks.
#pragma once

#include <string>

#include "ray/store/object_store.h"
#include "ray/store/store_server.h"

namespace ray::store {

// Serves `socket_path`; writes "ready\n" to `ready_fd` (then closes it) once clients can
// connect, unless it is negative. Returns the process's exit code.
int RunStore(const StoreOptions& options, const std::string& socket_path, int ready_fd,
             const ServerOptions& server_options = {});

// The starter's side of `ready_fd`'s pipe: blocks until the store is ready (true) or ended
// before (false); closes `read_fd`.
bool AwaitStoreReady(int read_fd);

}  // namespace ray::store
