// A pidfd: a descriptor that refers to one process for good, even after its pid is reused.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

namespace ray::core {

// Owns a pidfd (closes it). Move-only.
class Pidfd {
 public:
  Pidfd() = default;
  explicit Pidfd(int fd) : fd_(fd) {}
  Pidfd(Pidfd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Pidfd& operator=(Pidfd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Pidfd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  // Sends `signal` to the process, if it still runs.
  void Signal(int signal) const { (void)syscall(SYS_pidfd_send_signal, fd_, signal, nullptr, 0); }
  void Kill() const { Signal(SIGKILL); }
  // The process has ended (the pidfd is readable: it is a zombie or reaped).
  bool Ended() const {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  }

 private:
  int fd_ = -1;
};

}  // namespace ray::core
