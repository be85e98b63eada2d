#pragma once

#include <atomic>

namespace ray {

// A descriptor that belongs to this process alone: a process forked from it (from any thread)
// closes it at once and finds the slot empty, so that, say, a socket whose closing tells a peer
// that this process ended is not kept open by a child (multiprocessing, os.fork).
//
// Only for objects of static storage duration (they register themselves, at most 64 in all).
// The child closes them in a pthread_atfork handler: close is async-signal-safe, and the slot
// is an atomic, as a fork may come from any thread.
class ForkClosedFd {
 public:
  ForkClosedFd();
  ForkClosedFd(const ForkClosedFd&) = delete;
  ForkClosedFd& operator=(const ForkClosedFd&) = delete;

  // Holds `fd` if the slot is empty; false if it holds another one.
  bool TryHold(int fd);
  // The descriptor held, now the caller's to close; -1 if none.
  int Take() { return fd_.exchange(-1); }
  // Lets go of `fd` if this slot holds it (the caller closes it); false otherwise.
  bool Release(int fd);

 private:
  friend void CloseForkClosedFdsInChild();
  std::atomic<int> fd_{-1};
};

}  // namespace ray
