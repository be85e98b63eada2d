// Helpers for the store's system tests: forked child processes with a pipe to talk to the
// test, bounded waits, and byte patterns that any process can regenerate and check.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ray::testing {

// Streams every argument (absl::StrCat does not take an absl::Status).
template <typename... Args>
std::string StreamCat(const Args&... args) {
  std::ostringstream out;
  ((out << args), ...);
  return out.str();
}

// In a forked child gtest assertions would only fail the child's copy of the test: report on
// stderr and exit non-zero instead, which the parent checks.
#define CHILD_CHECK(cond, ...)                                                            \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "[child %d] %s:%d: check failed: %s %s\n", getpid(), __FILE__, \
                   __LINE__, #cond, ::ray::testing::StreamCat(__VA_ARGS__).c_str());      \
      _exit(3);                                                                           \
    }                                                                                     \
  } while (0)

// Polls `done` until it returns true or `timeout` passes. For effects the store applies
// asynchronously (it learns of a client's death when the socket closes).
inline bool WaitFor(const std::function<bool()>& done, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (done()) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

// For a child process that waits for the test to kill it.
[[noreturn]] inline void BlockUntilKilled() {
  while (true) pause();
}

inline bool KilledBySigkill(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

// The pipe ends one process uses to talk to the other: bytes in, bytes out.
class Channel {
 public:
  Channel() = default;
  Channel(int in, int out) : in_(in), out_(out) {}

  bool Send(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      ssize_t n = write(out_, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      size -= n;
    }
    return true;
  }
  bool Send(char c) { return Send(&c, 1); }

  // False on EOF (the other side died) or when `timeout` passes first.
  bool Receive(void* data, size_t size, absl::Duration timeout = absl::Seconds(60)) {
    char* p = static_cast<char*>(data);
    absl::Time deadline = absl::Now() + timeout;
    while (size > 0) {
      pollfd pfd{in_, POLLIN, 0};
      int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (ms < 0) return false;
      int ready = poll(&pfd, 1, ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;
      ssize_t n = read(in_, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      size -= n;
    }
    return true;
  }
  // True if the next byte is `expected`.
  bool Expect(char expected, absl::Duration timeout = absl::Seconds(60)) {
    char c;
    return Receive(&c, 1, timeout) && c == expected;
  }

  void Close() {
    if (in_ >= 0) close(in_);
    if (out_ >= 0) close(out_);
    in_ = out_ = -1;
  }

 private:
  int in_ = -1;
  int out_ = -1;
};

// A forked copy of the test process running `body`, which must not share a StoreClient with
// the parent (a client owns a thread, which fork does not copy): it connects its own.
class ChildProcess {
 public:
  explicit ChildProcess(std::function<int(Channel&)> body) {
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) std::abort();
    pid_ = fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      close(to_child[1]);
      close(from_child[0]);
      Channel channel(to_child[0], from_child[1]);
      int code = 99;
      try {
        code = body(channel);
      } catch (...) {
        std::fprintf(stderr, "[child %d] uncaught exception\n", getpid());
      }
      // _exit: no atexit handlers, no gtest teardown, no destructors of the parent's objects.
      _exit(code);
    }
    close(to_child[0]);
    close(from_child[1]);
    channel_ = Channel(from_child[0], to_child[1]);
  }
  ~ChildProcess() {
    if (pid_ > 0) Kill(SIGKILL);
    channel_.Close();
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  Channel& channel() { return channel_; }

  // Sends `sig` and reaps the child; returns its wait status.
  int Kill(int sig) {
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  // The wait status once the child exits; nullopt (and the child is killed) if it does not
  // exit within `timeout`.
  std::optional<int> Wait(absl::Duration timeout = absl::Seconds(120)) {
    int status = 0;
    bool exited = WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
    if (!exited) {
      Kill(SIGKILL);
      return std::nullopt;
    }
    pid_ = -1;
    return status;
  }
  // Waits and tells whether the child exited with code 0.
  bool ExitedOk(absl::Duration timeout = absl::Seconds(120)) {
    std::optional<int> status = Wait(timeout);
    return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
  }

 private:
  pid_t pid_ = -1;
  Channel channel_;
};

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Byte i of the pattern for `seed`: any process can regenerate it.
inline void FillPattern(uint64_t seed, std::span<uint8_t> out) {
  size_t words = out.size() / 8;
  for (size_t i = 0; i < words; ++i) {
    uint64_t w = SplitMix64(seed ^ (i * 0x2545f4914f6cdd1dull));
    std::memcpy(out.data() + i * 8, &w, 8);
  }
  uint64_t last = SplitMix64(seed ^ (words * 0x2545f4914f6cdd1dull));
  std::memcpy(out.data() + words * 8, &last, out.size() % 8);
}

// Empty if `data` holds the pattern for `seed`, else where it first differs.
inline std::string CheckPattern(uint64_t seed, std::span<const uint8_t> data) {
  size_t words = data.size() / 8;
  for (size_t i = 0; i <= words; ++i) {
    uint64_t w = SplitMix64(seed ^ (i * 0x2545f4914f6cdd1dull));
    size_t n = i < words ? 8 : data.size() % 8;
    if (n > 0 && std::memcmp(data.data() + i * 8, &w, n) != 0) {
      return absl::StrCat("bytes differ in word ", i, " of ", data.size(), " bytes");
    }
  }
  return "";
}

}  // namespace ray::testing
