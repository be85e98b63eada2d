// How much of a task's values travel inline in its messages (worker.capnp); the rest goes
// through the node's store.
#pragma once

#include <cstddef>

namespace ray::core {

// Values (task arguments, results, puts) up to this size travel inline in messages and live in
// the scheduler's memory; larger ones go through the node's store.
inline constexpr size_t kInlineLimit = 64 << 10;
// A task carries at most this many bytes of values inline: its arguments, and apart from them
// its results. Its values past that go through the store, so that one task always fits in one
// message to or from a worker (see the frame sizes in worker.capnp).
inline constexpr size_t kTaskInlineBytes = 8 << 20;

// Decides which of one task's values go inline: each up to kInlineLimit bytes, until they take
// kTaskInlineBytes together.
class InlineBudget {
 public:
  // Whether a value of `size` bytes goes inline (if so, it is counted).
  bool Take(size_t size) {
    if (size > kInlineLimit || size > left_) return false;
    left_ -= size;
    return true;
  }

 private:
  size_t left_ = kTaskInlineBytes;
};

}  // namespace ray::core
