// A worker on a node other than its scheduler's. The node (ray/cli) starts the driver's own
// program, fetched by build-id (ray/cluster/program_image.h), with the environment below; the
// program enters worker mode when it calls ray::Init (ray.init): it connects to its scheduler,
// opens the connection with the cluster's credentials (the token, TLS if on), serves tasks as a
// local worker does, and exits when the scheduler goes. What the program does before Init runs in
// each such worker too.
#pragma once

#include <string>
#include <string_view>

#include "ray/cluster/cluster_stream.h"
#include "ray/core_worker/remote_worker_env.h"

namespace ray::core {

// Takes the ready pipe (kWorkerReadyFdEnv) out of the environment, for this process alone: no
// process it forks or execs from then on holds it. A process that starts others before it calls
// TellNode (an actor host: its zygote) calls this first. A no-op without the pipe.
void TakeReadyPipe();

// Tells the node that started this process (its ready pipe, kWorkerReadyFdEnv) what happened:
// kWorkerReached, or why not; then closes the pipe. Once; a no-op without the pipe.
void TellNode(std::string_view what);

// If this process was started as a remote worker, serves its scheduler and exits (never
// returns); else returns at once.
void RunIfRemoteWorker();

// A worker of a driver in a cluster, on any node (the driver's own included): RunWorker, with
// the objects only other nodes' stores hold copied into this node's store first (their object
// servers take `credentials`). `node_id`: to name to the scheduler, "" for a worker of the driver's
// node (the scheduler knows it). Returns the exit code.
int RunClusterWorker(int scheduler_fd, const std::string& store_socket,
                     const cluster::Credentials& credentials, const std::string& node_id);

}  // namespace ray::core
