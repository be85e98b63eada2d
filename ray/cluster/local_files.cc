#include "ray/cluster/local_files.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace ray::cluster {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << file.rdbuf();
  return std::string(absl::StripAsciiWhitespace(text.str()));
}

// Writes `text` to `path` (mode 0600) through a temporary file and a rename, so a reader never
// sees half of it.
absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::string temporary = absl::StrCat(path, ".", getpid());
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  bool written = write(fd, text.data(), text.size()) == ssize_t(text.size());
  close(fd);
  if (!written || rename(temporary.c_str(), path.c_str()) != 0) {
    unlink(temporary.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = getrandom(raw.data() + done, bytes - done, 0);
    if (n > 0)
      done += n;
    else if (errno != EINTR)
      std::abort();  // no randomness: nothing safe to do
  }
  return absl::BytesToHexString(raw);
}

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* text = std::getenv(name);
  int64_t value;
  return text != nullptr && absl::SimpleAtoi(text, &value) && value > 0 ? value : fallback;
}

}  // namespace

absl::StatusOr<std::string> UserRoot() {
  const char* tmp = std::getenv("TMPDIR");
  std::string root = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/ray-", getuid());
  if (mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("cannot make ", root, ": ", strerror(errno)));
  }
  struct stat info;
  if (lstat(root.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != getuid() ||
      (info.st_mode & 0077) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(root, " is not a folder of this user's with mode 0700"));
  }
  return root;
}

std::string TokenFile(const std::string& root, const std::string& address) {
  return absl::StrCat(root, "/token-", absl::StrReplaceAll(address, {{":", "_"}, {"/", "_"}}));
}

absl::Status WriteTokenFile(const std::string& root, const std::string& address,
                            const std::string& token) {
  return WriteFile(TokenFile(root, address), token);
}

absl::StatusOr<std::string> FindToken(const std::string& address) {
  if (const char* token = std::getenv("RAY_AUTH_TOKEN"); token != nullptr && *token != '\0') {
    return std::string(token);
  }
  auto root = UserRoot();
  if (!root.ok()) return root.status();
  auto token = ReadFile(TokenFile(*root, address));
  if (!token.ok() || token->empty()) {
    return absl::NotFoundError(absl::StrCat("no cluster token for ", address,
                                            ": set RAY_AUTH_TOKEN (the head's machine has it in ",
                                            TokenFile(*root, address), ")"));
  }
  return token;
}

absl::Status WriteLatestCluster(const std::string& root, const std::string& address) {
  return WriteFile(root + "/latest_cluster", address);
}

absl::StatusOr<std::string> LatestCluster() {
  auto root = UserRoot();
  if (!root.ok()) return root.status();
  auto address = ReadFile(*root + "/latest_cluster");
  if (!address.ok() || address->empty()) {
    return absl::NotFoundError("no cluster was started on this machine (ray start --head)");
  }
  return address;
}

absl::StatusOr<std::string> ResolveAddress(const std::string& address) {
  return address == "auto" ? LatestCluster() : absl::StatusOr<std::string>(address);
}

std::string NewToken() { return RandomHex(32); }

std::string NewNodeId() { return RandomHex(28); }

HealthOptions HealthFromEnv() {
  HealthOptions options;
  options.period = absl::Milliseconds(EnvInt("RAY_HEALTH_CHECK_PERIOD_MS", 1000));
  options.failure_threshold = EnvInt("RAY_HEALTH_CHECK_FAILURE_THRESHOLD", 5);
  return options;
}

absl::Duration HandshakeTimeoutFromEnv() {
  return absl::Milliseconds(EnvInt("RAY_HANDSHAKE_TIMEOUT_MS", 5000));
}

}  // namespace ray::cluster
