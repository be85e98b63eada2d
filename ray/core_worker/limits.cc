#include "ray/core_worker/limits.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace ray::core {

absl::Status CheckTaskOptions(TaskOptions* options) {
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

uint64_t DefaultStoreMemory(uint64_t mem_total, uint64_t mem_available) {
  uint64_t bytes = std::min(mem_total / 10 * 3, mem_available / 2);
  return std::max<uint64_t>(bytes / 4096 * 4096, 64 << 20);
}

}  // namespace ray::core
