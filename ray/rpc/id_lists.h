// Object and task IDs in worker.capnp messages: Data of exactly the ID's size, in lists of at
// most rpc::MAX_IDS_PER_LIST.
#pragma once

#include <capnp/list.h>

#include <span>
#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ray/common/capnp_bytes.h"
#include "ray/common/id.h"
#include "ray/rpc/checked_list.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {

// InvalidArgument unless `raw` has the size of an Id (nil, all zeros, is well-formed).
template <typename Id>
absl::Status CheckId(capnp::Data::Reader raw) {
  if (raw.size() == Id::kSize) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("an ID of ", raw.size(), " bytes (", Id::kSize, " expected)"));
}

// Reads an ID that passed CheckId.
template <typename Id>
Id ReadId(capnp::Data::Reader raw) {
  if constexpr (std::is_same_v<Id, TaskID>) {
    return TaskID::FromBinary(AsView(raw));
  } else {
    return ObjectID::FromBinaryOrNil(AsView(raw));
  }
}

template <typename Id>
using IdList = CheckedList<capnp::Data, Id, &ReadId<Id>, &CheckId<Id>, rpc::MAX_IDS_PER_LIST>;

// `out` has ids.size() elements.
template <typename Id>
void WriteIdList(capnp::List<capnp::Data>::Builder out, std::span<const Id> ids) {
  for (size_t i = 0; i < ids.size(); ++i) out.set(i, AsData(ids[i].Binary()));
}

}  // namespace ray::core
