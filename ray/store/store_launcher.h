// Starts a ray_store process that dies with its parent (PR_SET_PDEATHSIG), and stops it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ray::store {

class StoreProcess {
 public:
  // Runs `binary --socket=socket_path extra_flags...` and returns once the socket accepts
  // clients. Errors if the store exits first (bad flags, no memory).
  static absl::StatusOr<StoreProcess> Start(const std::string& binary,
                                            const std::string& socket_path,
                                            std::vector<std::string> extra_flags = {});
  StoreProcess(StoreProcess&& other) noexcept;
  StoreProcess& operator=(StoreProcess&& other) noexcept;
  ~StoreProcess();  // Stop()

  pid_t pid() const { return pid_; }
  // SIGTERM, then waits for the process to exit.
  void Stop();

 private:
  StoreProcess() = default;
  pid_t pid_ = -1;
};

}  // namespace ray::store
