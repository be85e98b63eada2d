// Floats stay floats in libray's msgpack. msgpack-cxx 4.1 writes a float or double that holds a
// whole number as a msgpack int (2.0 -> 2), which other languages read back as an int (Python:
// 2, not 2.0). RAY_MSGPACK_EXACT_FLOATS(Stream) makes msgpack::packer<Stream> write float32 and
// float64 always (readers take either). Use it at global scope, after Stream is defined and
// before any packer<Stream> packs a float.
#pragma once

#include <cstdint>
#include <cstring>
#include <msgpack.hpp>
#include <type_traits>

namespace ray::internal {

// The msgpack encoding of a float (float32, 5 bytes) or a double (float64, 9 bytes): the
// marker, then the bits big-endian.
template <typename F>
void MsgpackFloat(F value, char (&out)[1 + sizeof(F)]) {
  static_assert(sizeof(F) == 4 || sizeof(F) == 8);
  using Bits = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
  Bits bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if constexpr (sizeof(F) == 4) {
    bits = __builtin_bswap32(bits);
  } else {
    bits = __builtin_bswap64(bits);
  }
  out[0] = static_cast<char>(sizeof(F) == 4 ? 0xca : 0xcb);
  std::memcpy(out + 1, &bits, sizeof(bits));
}

}  // namespace ray::internal

#define RAY_MSGPACK_EXACT_FLOATS(Stream)              \
  RAY_INTERNAL_EXACT_FLOAT(Stream, pack_float, float) \
  RAY_INTERNAL_EXACT_FLOAT(Stream, pack_double, double)

#define RAY_INTERNAL_EXACT_FLOAT(Stream, method, F)                              \
  template <>                                                                    \
  inline msgpack::v1::packer<Stream>& msgpack::v1::packer<Stream>::method(F v) { \
    char bytes[1 + sizeof(F)];                                                   \
    ::ray::internal::MsgpackFloat(v, bytes);                                     \
    append_buffer(bytes, sizeof(bytes));                                         \
    return *this;                                                                \
  }
