// For tests whose tasks and actors signal through files: blocks on a file, not on time.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/time/clock.h"

namespace ray_test {

// A file's contents once it exists and is not empty (its writer may have made it and not yet
// written), waiting at most `bound`; what it holds then ("" if it never came).
inline std::string WaitForFile(const std::string& path, absl::Duration bound = absl::Seconds(60)) {
  const absl::Time deadline = absl::Now() + bound;
  std::error_code error;
  while (std::filesystem::file_size(path, error) == 0 || error) {
    if (absl::Now() >= deadline) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  std::ifstream file(path);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

}  // namespace ray_test
