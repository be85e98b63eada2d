#include "ray/observability/graph_text.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace ray::core::graph_text {

// Valid UTF-8 with control characters turned into spaces and invalid bytes into U+FFFD, cut to
// at most `max_chars` characters (an ellipsis marks the cut).
std::string CleanText(std::string_view s, size_t max_chars) {
  std::string out;
  out.reserve(s.size());
  size_t chars = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (chars == max_chars) {
      out += "\u2026";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // Allowed range of the second byte.
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;  // No surrogates.
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    }
    bool valid = len > 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      valid = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xbf);
    }
    if (!valid) {
      out += "\ufffd";
      ++i;
    } else if (len == 1 && (c < 0x20 || c == 0x7f)) {
      out += ' ';
      ++i;
    } else {
      out.append(s.data() + i, len);
      i += len;
    }
    ++chars;
  }
  return out;
}

// Appends `s` (clean but for line breaks) as the inside of a DOT or JSON quoted string.
void AppendQuoted(std::string* out, std::string_view s) {
  for (char c : s) {
    if (c == '\n') {
      out->append("\\n");
      continue;
    }
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
}

// The first 8 hex digits of an ID.
std::string ShortHex(const uint8_t* id) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(id), 4));
}

std::string ShortTaskId(const TaskID& id) { return ShortHex(id.data()); }

// "<first 8 hex of the task>.<return index>", or ".p<put index>" for a Put object.
std::string ShortObjectId(const ObjectID& id) {
  if (id.IsPut()) return absl::StrCat(ShortHex(id.data()), ".p", id.PutIndex());
  return absl::StrCat(ShortHex(id.data()), ".", id.Index());
}

absl::Status CannotWrite(const std::string& path, int error) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat("cannot write ", path, ": ", std::strerror(error)));
}

// Creates (or truncates) the file at `path` for writing; returns its descriptor.
absl::StatusOr<int> CreateFile(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return CannotWrite(path, errno);
  return fd;
}

// Writes all of `data` to a new file at `path`.
absl::Status WriteFile(const std::string& path, std::string_view data) {
  absl::StatusOr<int> fd = CreateFile(path);
  if (!fd.ok()) return fd.status();
  while (!data.empty()) {
    ssize_t n = write(*fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      close(*fd);
      unlink(path.c_str());
      return CannotWrite(path, error);
    }
    data.remove_prefix(n);
  }
  if (close(*fd) != 0) return CannotWrite(path, errno);
  return absl::OkStatus();
}

}  // namespace ray::core::graph_text
