// FNV-1a (64-bit): a hash that every process computes alike (absl::Hash is seeded per
// process), for IDs and names that cross processes.
#pragma once

#include <cstdint>
#include <string_view>

namespace ray {

class Fnv1a {
 public:
  Fnv1a& Mix(std::string_view bytes) {
    for (char c : bytes) hash_ = (hash_ ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
    return *this;
  }
  uint64_t hash() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

inline uint64_t Fnv1aHash(std::string_view bytes) { return Fnv1a().Mix(bytes).hash(); }

}  // namespace ray
