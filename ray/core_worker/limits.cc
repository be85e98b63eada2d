#include "ray/core_worker/limits.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {

absl::Status CheckSubmitOptions(SubmitOptions* options) {
  if (options->num_returns < 1 || options->num_returns > kMaxNumReturns) {
    return absl::InvalidArgumentError(absl::StrCat("num_returns = ", options->num_returns,
                                                   ": a task returns from 1 to ", kMaxNumReturns,
                                                   " objects"));
  }
  if (!(options->num_cpus >= 0 && options->num_cpus <= kMaxNumCpus)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "num_cpus = ", options->num_cpus, ": a task asks for 0 to ", kMaxNumCpus,
        " CPUs (one that asks for more than the node has runs when all of them are free)"));
  }
  if (options->max_retries < kRetryForever) {
    return absl::InvalidArgumentError(absl::StrCat("max_retries = ", options->max_retries,
                                                   ": it must be >= 0, or ", kRetryForever,
                                                   " to retry without limit"));
  }
  if (options->max_retries == kRetryForever) {
    options->max_retries = std::numeric_limits<int>::max();
  }
  if (options->resources.size() > kMaxTaskResources) {
    return absl::InvalidArgumentError(absl::StrCat("resources: a task asks for at most ",
                                                   kMaxTaskResources, " custom resources"));
  }
  for (const auto& [name, amount] : options->resources) {
    if (name.empty() || name == "CPU") {
      return absl::InvalidArgumentError(
          absl::StrCat("resources: \"", name, "\" is not a custom resource's name",
                       name == "CPU" ? " (ask for CPUs with num_cpus)" : ""));
    }
    if (!(amount > 0 && amount <= kMaxNumCpus)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "resources: ", name, " = ", amount, ": an amount is above 0 and at most ", kMaxNumCpus));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckActorOptions(const ActorOptions& options) {
  if (!(options.num_cpus >= 0 && options.num_cpus <= kMaxNumCpus)) {
    return absl::InvalidArgumentError(absl::StrCat("num_cpus = ", options.num_cpus,
                                                   ": an actor holds 0 to ", kMaxNumCpus, " CPUs"));
  }
  if (options.max_restarts < -1) {
    return absl::InvalidArgumentError(absl::StrCat("max_restarts = ", options.max_restarts,
                                                   ": it must be >= 0, or -1 to restart always"));
  }
  if (options.max_task_retries < -1) {
    return absl::InvalidArgumentError(absl::StrCat("max_task_retries = ", options.max_task_retries,
                                                   ": it must be >= 0, or -1 to retry always"));
  }
  if (options.max_concurrency < 1 || options.max_concurrency > kMaxActorConcurrency) {
    return absl::InvalidArgumentError(absl::StrCat("max_concurrency = ", options.max_concurrency,
                                                   ": must be 1 to ", kMaxActorConcurrency));
  }
  return absl::OkStatus();
}

absl::Status CheckNodeOptions(int num_workers, double num_cpus) {
  if (num_workers < 0 || num_workers > kMaxNumWorkers) {
    return absl::InvalidArgumentError(absl::StrCat("num_workers = ", num_workers,
                                                   ": a node starts 0 to ", kMaxNumWorkers,
                                                   " workers (0: one per core)"));
  }
  if (!(num_cpus >= 0 && num_cpus <= kMaxNumCpus)) {
    return absl::InvalidArgumentError(absl::StrCat("num_cpus = ", num_cpus, ": a node has 0 to ",
                                                   kMaxNumCpus, " CPUs (0: num_workers)"));
  }
  return absl::OkStatus();
}

absl::Status CheckSessionOptions(const SessionOptions& options) {
  if (absl::Status status = CheckNodeOptions(options.num_workers, options.num_cpus); !status.ok()) {
    return status;
  }
  if (options.max_workers < 0 || options.max_workers > kMaxMaxWorkers) {
    return absl::InvalidArgumentError(absl::StrCat("max_workers = ", options.max_workers,
                                                   ": a node's limit on workers is 0 to ",
                                                   kMaxMaxWorkers, " (0: 256)"));
  }
  if (options.idle_worker_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("idle_worker_timeout = ", absl::FormatDuration(options.idle_worker_timeout),
                     ": it must be more than 0"));
  }
  if (options.worker_stall_timeout < kMinWorkerStallTimeout) {
    return absl::InvalidArgumentError(
        absl::StrCat("worker_stall_timeout = ", absl::FormatDuration(options.worker_stall_timeout),
                     ": at least ", absl::FormatDuration(kMinWorkerStallTimeout),
                     " (a worker that holds tasks sends a heartbeat every second)"));
  }
  if (!options.address.empty()) {
    size_t colon = options.address.rfind(':');
    int port = 0;
    if (options.local_mode) {
      return absl::InvalidArgumentError(absl::StrCat(
          "address = ", options.address, ": local mode runs no node to join a cluster with"));
    }
    if (options.address != "auto" &&
        (colon == std::string::npos || colon == 0 ||
         !absl::SimpleAtoi(options.address.substr(colon + 1), &port) || port < 1 || port > 65535)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "address = ", options.address, ": a cluster's address is HOST:PORT or \"auto\""));
    }
  }
  if (options.session_dir_root.size() > kMaxSessionDirRootLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "session_dir_root = ", options.session_dir_root, ": at most ", kMaxSessionDirRootLength,
        " bytes (the store's socket in it needs a unix socket address)"));
  }
  if (std::string root = SessionDirRoot(options);
      !options.local_mode && root.size() > kMaxSessionDirRootLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "$TMPDIR = ", root, " is ", root.size(),
        " bytes: the session folder goes there, and at most ", kMaxSessionDirRootLength,
        " bytes leave room for the store's socket address; set a shorter "
        "TMPDIR or session_dir_root"));
  }
  return absl::OkStatus();
}

std::string SessionDirRoot(const SessionOptions& options) {
  if (!options.session_dir_root.empty()) return options.session_dir_root;
  const char* tmpdir = getenv("TMPDIR");
  return tmpdir != nullptr ? tmpdir : "/tmp";
}

uint64_t DefaultStoreMemory(uint64_t mem_total, uint64_t mem_available) {
  uint64_t bytes = std::min(mem_total / 10 * 3, mem_available / 2);
  return std::max<uint64_t>(bytes / 4096 * 4096, 64 << 20);
}

absl::Status CheckIdCount(size_t count, const char* what) {
  if (count <= rpc::MAX_IDS_PER_LIST) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what, " names at most ", rpc::MAX_IDS_PER_LIST, " objects (", count, " given)"));
}

}  // namespace ray::core
