// A worker process: runs the tasks the scheduler sends over its socket, reading arguments
// from the store or the message and writing results back the same way, until the socket
// closes. Inside a task, the API's calls (nested tasks, Get, Put, Wait) go to the scheduler
// through the same socket.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ray/common/id.h"
#include "ray/object_manager/object_source.h"

namespace ray::core {

// Copies each of `objects` into this node's store, side by side; `for_get`: a get waits for
// them (before task arguments). A status for each.
using CopyFromNode = std::function<std::vector<absl::Status>(
    std::span<const object_manager::ObjectSource> objects, bool for_get)>;

// A worker on a node other than its scheduler's: the node it runs on, and how it copies the
// objects that node's store lacks.
struct RemoteWorkerOptions {
  std::string node_id;  // hex
  CopyFromNode copy;
};

// Serves `scheduler_fd` (owned) with the store at `store_socket`; returns the exit code.
int RunWorker(int scheduler_fd, const std::string& store_socket, RemoteWorkerOptions remote = {});

}  // namespace ray::core
