// The objects of each driver's job (ray/common/id.h) in a node's store, from the store's seal
// notices, so that a driver that is gone leaves none of them behind. Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "ray/common/id.h"

namespace ray::cli {

class JobObjects {
 public:
  void Sealed(std::span<const ObjectID> ids) {
    absl::MutexLock lock(&mu_);
    for (const ObjectID& id : ids) {
      if (uint32_t job = id.Task().Job(); job != 0) by_job_[job].insert(id);
    }
  }
  void Deleted(std::span<const ObjectID> ids) {
    absl::MutexLock lock(&mu_);
    for (const ObjectID& id : ids) {
      auto it = by_job_.find(id.Task().Job());
      if (it != by_job_.end()) it->second.erase(id);
    }
  }
  // The objects of `job`, forgotten.
  std::vector<ObjectID> Take(uint32_t job) {
    absl::MutexLock lock(&mu_);
    auto it = by_job_.find(job);
    if (it == by_job_.end()) return {};
    std::vector<ObjectID> ids(it->second.begin(), it->second.end());
    by_job_.erase(it);
    return ids;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<uint32_t, absl::flat_hash_set<ObjectID>> by_job_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ray::cli
