// Byte counts as people type them: digits with an optional K, M or G (powers of 1024).
#pragma once

#include <cctype>
#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"

namespace ray {

// False for anything else, zero, or more than 2^50 bytes.
inline bool ParseByteCount(std::string text, uint64_t* out) {
  uint64_t scale = 1;
  if (!text.empty()) {
    switch (std::toupper(static_cast<unsigned char>(text.back()))) {
      case 'K':
        scale = 1ull << 10;
        break;
      case 'M':
        scale = 1ull << 20;
        break;
      case 'G':
        scale = 1ull << 30;
        break;
    }
    if (scale != 1) text.pop_back();
  }
  uint64_t value;
  if (!absl::SimpleAtoi(text, &value) || value == 0 || value > (1ull << 50) / scale) return false;
  *out = value * scale;
  return true;
}

}  // namespace ray
