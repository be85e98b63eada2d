#include "ray/cli/log_tail.h"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace ray::cli {

std::string LastLines(const std::string& path, int count) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string tail(4096, '\0');
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > static_cast<off_t>(tail.size()) ? size - tail.size() : 0;
  ssize_t n = pread(fd, tail.data(), tail.size(), from);
  close(fd);
  tail.resize(n > 0 ? n : 0);
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(tail, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) lines.emplace_back(line);
  }
  if (lines.size() > static_cast<size_t>(count)) lines.erase(lines.begin(), lines.end() - count);
  return absl::StrJoin(lines, " / ");
}

}  // namespace ray::cli
