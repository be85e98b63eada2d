// A worker process: runs the tasks the scheduler sends over its socket, reading arguments
// from the store or the message and writing results back the same way, until the socket
// closes. Inside a task, the API's calls (nested tasks, Get, Put, Wait) go to the scheduler
// through the same socket.
#pragma once

#include <string>

namespace ray::core {

// Serves `scheduler_fd` (owned) with the store at `store_socket`; returns the exit code.
int RunWorker(int scheduler_fd, const std::string& store_socket);

}  // namespace ray::core
