#include "ray/common/fork_closed_fd.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

namespace ray {
namespace {

constexpr int kMaxSlots = 64;
std::atomic<ForkClosedFd*> slots[kMaxSlots];  // zero-initialized before any constructor runs
std::atomic<int> slot_count{0};

}  // namespace

void CloseForkClosedFdsInChild() {
  const int count = slot_count.load();  // at most kMaxSlots: past it the constructor aborts
  for (int i = 0; i < count; ++i) {
    ForkClosedFd* slot = slots[i].load();
    if (slot == nullptr) continue;
    int fd = slot->fd_.exchange(-1);
    if (fd >= 0) close(fd);
  }
}

ForkClosedFd::ForkClosedFd() {
  int index = slot_count.fetch_add(1);
  if (index >= kMaxSlots) std::abort();  // a fixed number of static objects: a build error
  slots[index].store(this);
}

bool ForkClosedFd::TryHold(int fd) {
  static std::once_flag registered;
  std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, &CloseForkClosedFdsInChild); });
  int empty = -1;
  return fd_.compare_exchange_strong(empty, fd);
}

bool ForkClosedFd::Release(int fd) {
  int expected = fd;
  return fd_.compare_exchange_strong(expected, -1);
}

}  // namespace ray
