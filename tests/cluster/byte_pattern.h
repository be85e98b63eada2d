// A recognisable run of bytes for cluster tests that move objects between nodes: byte i is
// (i * 131 + seed) mod 256, so a wrong offset, a short copy or another object's bytes show.
// The functions are tasks too (ray::Remote(MakeBig), ray::Remote(IsPattern)).
#pragma once

#include <cstdint>
#include <vector>

#include "ray/api.h"

namespace ray::testing {

inline std::vector<uint8_t> Pattern(size_t n, int seed) {
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(i * 131 + seed);
  return bytes;
}

inline std::vector<uint8_t> MakeBig(int64_t n, int seed) { return Pattern(n, seed); }

// Whether `bytes` is Pattern(n, seed).
inline bool IsPattern(ray::ArrayView<uint8_t> bytes, int64_t n, int seed) {
  if (static_cast<int64_t>(bytes.size()) != n) return false;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != static_cast<uint8_t>(i * 131 + seed)) return false;
  }
  return true;
}

}  // namespace ray::testing
