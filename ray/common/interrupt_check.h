// A check that a thread blocked in a long wait runs now and then (ScopedInterruptCheck).
#pragma once

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"

namespace ray::core {

// A check that a thread blocked in the driver's Get or Wait runs every `interval`, without the
// runtime's locks held. The Python driver runs its signal handlers there, so that Ctrl-C ends a
// long get, which then need not be cut into short gets (each would look up every ID again).
// When `interrupted` returns true, the wait ends as if its timeout had passed. In force on the
// thread that makes it, while it lives (they nest).
class ScopedInterruptCheck {
 public:
  ScopedInterruptCheck(absl::Duration interval, absl::FunctionRef<bool()> interrupted);
  ~ScopedInterruptCheck();
  ScopedInterruptCheck(const ScopedInterruptCheck&) = delete;
  ScopedInterruptCheck& operator=(const ScopedInterruptCheck&) = delete;

  // The innermost check in force on this thread, or null.
  static const ScopedInterruptCheck* Current();
  absl::Duration interval() const { return interval_; }
  bool Interrupted() const { return interrupted_(); }

 private:
  absl::Duration interval_;
  absl::FunctionRef<bool()> interrupted_;
  const ScopedInterruptCheck* outer_;
};

}  // namespace ray::core
