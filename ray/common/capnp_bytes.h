// Views between Cap'n Proto Data fields and C++ byte ranges, without copies.
#pragma once

#include <capnp/blob.h>

#include <cstdint>
#include <span>
#include <string_view>

namespace ray {

inline std::string_view AsView(capnp::Data::Reader data) {
  return {reinterpret_cast<const char*>(data.begin()), data.size()};
}
inline std::span<const uint8_t> AsSpan(capnp::Data::Reader data) {
  return {data.begin(), data.size()};
}
inline capnp::Data::Reader AsData(std::string_view bytes) {
  return {reinterpret_cast<const capnp::byte*>(bytes.data()), bytes.size()};
}

}  // namespace ray
