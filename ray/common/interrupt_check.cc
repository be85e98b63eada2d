#include "ray/common/interrupt_check.h"

namespace ray::core {

namespace {
thread_local const ScopedInterruptCheck* interrupt_check = nullptr;
}  // namespace

ScopedInterruptCheck::ScopedInterruptCheck(absl::Duration interval,
                                           absl::FunctionRef<bool()> interrupted)
    : interval_(interval), interrupted_(interrupted), outer_(interrupt_check) {
  interrupt_check = this;
}

ScopedInterruptCheck::~ScopedInterruptCheck() { interrupt_check = outer_; }

const ScopedInterruptCheck* ScopedInterruptCheck::Current() { return interrupt_check; }

}  // namespace ray::core
