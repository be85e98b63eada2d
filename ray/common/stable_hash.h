// FNV-1a (64-bit, and 128-bit below): a hash that every process computes alike (absl::Hash is
// seeded per process), for IDs and names that cross processes.
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

// FNV-1a with 128 bits, for keying file contents (not a defence against a forger): mixed in
// pieces, it gives what one Mix over the concatenation gives.
class Fnv1a128 {
 public:
  Fnv1a128& Mix(std::string_view bytes) {
    unsigned __int128 hash = hash_;
    for (char c : bytes) hash = (hash ^ static_cast<uint8_t>(c)) * kPrime;
    hash_ = hash;
    return *this;
  }
  unsigned __int128 hash() const { return hash_; }

 private:
  static constexpr unsigned __int128 kPrime = (static_cast<unsigned __int128>(1) << 88) | 0x13b;
  unsigned __int128 hash_ =
      (static_cast<unsigned __int128>(0x6c62272e07bb0142ull) << 64) | 0x62b821756295c58dull;
};

}  // namespace ray
