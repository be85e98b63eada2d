// What tests with real worker processes wait for and check: a file a process writes, a process
// that ends, the TaskError of a failed call. Each wait is bounded and polls the condition itself.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/time/clock.h"
#include "ray/api.h"

namespace ray_test {

// A file's contents once it exists and is not empty (its writer may have made it and not written
// yet), waiting at most `bound` (blocks on the file, not on time).
inline std::string WaitForFile(const std::string& path, absl::Duration bound = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + bound;
  std::error_code error;
  while ((std::filesystem::file_size(path, error) == 0 || error) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  std::ifstream file(path);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// Whether process `pid` is gone (or a zombie) within `bound`.
inline bool ProcessEnds(int pid, absl::Duration bound = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + bound;
  while (absl::Now() < deadline) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string text((std::istreambuf_iterator<char>(status)), std::istreambuf_iterator<char>());
    if (!status || text.find("State:\tZ") != std::string::npos) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

// The TaskError that getting `ref` throws (a test failure if it throws none).
template <typename T>
ray::TaskError ErrorOf(const ray::ObjectRef<T>& ref) {
  try {
    ref.Get();
  } catch (const ray::TaskError& e) {
    return e;
  }
  ADD_FAILURE() << "no TaskError";
  return ray::TaskError({});
}

}  // namespace ray_test
