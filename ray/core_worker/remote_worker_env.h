// The environment a node gives a worker it starts for a scheduler on another node
// (remote_worker.h). The cluster token is RAY_AUTH_TOKEN.
#pragma once

namespace ray::core {

inline constexpr char kSchedulerAddressEnv[] = "RAY_WORKER_SCHEDULER";  // HOST:PORT
inline constexpr char kWorkerNodeIdEnv[] = "RAY_WORKER_NODE_ID";        // hex
inline constexpr char kWorkerStoreEnv[] = "RAY_WORKER_STORE_SOCKET";    // the node's store
// A pipe to the node's launcher: the worker writes a byte once it is connected to its
// scheduler, so the node can tell workers that exited before that (and why) to the driver.
inline constexpr char kWorkerReadyFdEnv[] = "RAY_WORKER_READY_FD";

}  // namespace ray::core
