// The limits on what a program asks of the runtime, in one place for every language: the C++ API
// and the Python extension check a task's options here, so both accept and refuse the same values
// with the same words. Also the node's defaults that depend on the machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/session_options.h"

namespace ray::core {

// A task returns at most this many objects (each one costs its caller an ID and a reference).
inline constexpr int kMaxNumReturns = 10'000;
// max_retries = kRetryForever: the task is retried after every worker crash, without limit.
inline constexpr int kRetryForever = -1;
// A task asks for at most this many CPUs. One that asks for more than its node has is not
// refused: it runs when all of the node's CPUs are free, holding them all.
inline constexpr double kMaxNumCpus = 65'536;
// Custom resources a task asks for, at most (worker.capnp carries no more).
inline constexpr size_t kMaxTaskResources = 64;

// Checks a task's options: num_returns from 1 to kMaxNumReturns, num_cpus a number from 0 to
// kMaxNumCpus, max_retries >= 0 or kRetryForever. On success, puts them in the form the runtime
// counts with (kRetryForever becomes the largest int: the scheduler counts retries down).
// InvalidArgument otherwise, with a message that starts with the option's name ("num_returns =
// 1000000000: ..."), for the caller to prefix with the call.
absl::Status CheckSubmitOptions(SubmitOptions* options);

// Checks an actor's options: num_cpus a number from 0 to kMaxNumCpus, max_restarts and
// max_task_retries >= -1 (-1: always), max_concurrency from 1 to kMaxActorConcurrency.
// InvalidArgument as CheckSubmitOptions's ("max_concurrency = 0: ...").
absl::Status CheckActorOptions(const ActorOptions& options);

// The objects one call may name (a task's reference arguments and the objects its values
// reference; the objects a put's value references): at most rpc::MAX_IDS_PER_LIST, what one
// message to or from a worker carries, in every runtime. InvalidArgument past it, naming `what`.
absl::Status CheckIdCount(size_t count, const char* what);

// Init starts at most this many worker processes (the scheduler may start more later, up to
// max_workers).
inline constexpr int kMaxNumWorkers = 1024;

// Checks Init's num_workers (0 to kMaxNumWorkers; 0: one per core) and num_cpus (0 to
// kMaxNumCpus; 0: num_workers). InvalidArgument as CheckSubmitOptions's ("num_workers = ...: ...").
absl::Status CheckNodeOptions(int num_workers, double num_cpus);

// max_workers is at most this (each worker is a process).
inline constexpr int kMaxMaxWorkers = 4096;
// A worker holding tasks sends a heartbeat every second: a shorter stall timeout than this
// would kill live workers.
inline constexpr absl::Duration kMinWorkerStallTimeout = absl::Seconds(2);

// The longest session_dir_root: the store's socket, <root>/ray-session-XXXXXX/store.sock
// (driver_runtime.cc), must fit a unix socket address (107 bytes and a NUL).
inline constexpr size_t kMaxSessionDirRootLength =
    107 - sizeof("/ray-session-XXXXXX/store.sock") + 1;

// Checks every option of a session (ray::Init, ray.init): CheckNodeOptions, then max_workers (0
// to kMaxMaxWorkers; 0: 256), idle_worker_timeout (> 0) and worker_stall_timeout (at least
// kMinWorkerStallTimeout) and the session folder's root, given or $TMPDIR (at most
// kMaxSessionDirRootLength bytes, unless in local mode). InvalidArgument as CheckNodeOptions's.
absl::Status CheckSessionOptions(const SessionOptions& options);

// Where the session folder goes: session_dir_root, else $TMPDIR, else /tmp.
std::string SessionDirRoot(const SessionOptions& options);

// The node's default object store size: 30% of the machine's memory, at most half of what is
// available now (other drivers' stores, and the programs running, leave less), at least 64 MiB;
// a multiple of 4096. Both arguments in bytes, as /proc/meminfo's MemTotal and MemAvailable.
uint64_t DefaultStoreMemory(uint64_t mem_total, uint64_t mem_available);

}  // namespace ray::core
