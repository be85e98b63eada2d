// The environment a node gives a worker it starts for a scheduler on another node
// (remote_worker.h), or an actor host it starts for its head. The cluster token is
// RAY_AUTH_TOKEN.
#pragma once

namespace ray::core {

inline constexpr char kSchedulerAddressEnv[] = "RAY_WORKER_SCHEDULER";  // HOST:PORT
inline constexpr char kWorkerNodeIdEnv[] = "RAY_WORKER_NODE_ID";        // hex
inline constexpr char kWorkerStoreEnv[] = "RAY_WORKER_STORE_SOCKET";    // the node's store
// A descriptor on which the worker tells the node that started it whether it reached its
// scheduler: kWorkerReached once connected, else why not; then it closes it.
inline constexpr char kWorkerReadyFdEnv[] = "RAY_WORKER_READY_FD";
inline constexpr char kWorkerReached[] = "K";
// An actor host instead of a worker (actor_host.h): the head's HOST:PORT, which it joins as a
// driver, and the program key it registers as the host of. It says kWorkerReached on
// kWorkerReadyFdEnv once the head has it registered, else why not.
inline constexpr char kActorHostHeadEnv[] = "RAY_ACTOR_HOST_HEAD";
inline constexpr char kActorHostKeyEnv[] = "RAY_ACTOR_HOST_KEY";

}  // namespace ray::core
