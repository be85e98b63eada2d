// Conversions between the store's C++ types and its Cap'n Proto messages.
#pragma once

#include <capnp/common.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "ray/store/object_index.h"
#include "ray/store/store.capnp.h"

namespace ray::store {

inline std::string_view AsView(capnp::Data::Reader data) {
  return {reinterpret_cast<const char*>(data.begin()), data.size()};
}
inline std::span<const uint8_t> AsSpan(capnp::Data::Reader data) {
  return {data.begin(), data.size()};
}
inline capnp::Data::Reader AsData(std::string_view bytes) {
  return {reinterpret_cast<const capnp::byte*>(bytes.data()), bytes.size()};
}

void FillStatus(const absl::Status& status, rpc::Status::Builder out);
absl::Status ToStatus(rpc::Status::Reader status);
void FillLocation(const ObjectSnapshot& snap, rpc::Location::Builder out);

}  // namespace ray::store
