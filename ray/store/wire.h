// Conversions between the store's C++ types and its Cap'n Proto messages.
#pragma once

#include <capnp/common.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "ray/common/capnp_bytes.h"
#include "ray/store/object_index.h"
#include "ray/store/store.capnp.h"

namespace ray::store {

void FillStatus(const absl::Status& status, rpc::Status::Builder out);
absl::Status ToStatus(rpc::Status::Reader status);
void FillLocation(const ObjectSnapshot& snap, rpc::Location::Builder out);

}  // namespace ray::store
