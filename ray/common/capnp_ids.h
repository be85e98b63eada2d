// Lists of object IDs in Cap'n Proto messages (List(Data), one 24-byte ID per element).
#pragma once

#include <capnp/list.h>

#include <span>
#include <vector>

#include "ray/common/capnp_bytes.h"
#include "ray/common/id.h"

namespace ray {

// Malformed elements (not 24 bytes) are skipped.
inline std::vector<ObjectID> ReadIds(capnp::List<capnp::Data>::Reader list) {
  std::vector<ObjectID> ids;
  ids.reserve(list.size());
  for (auto raw : list) {
    ObjectID id = ObjectID::FromBinaryOrNil(AsView(raw));
    if (!id.IsNil()) ids.push_back(id);
  }
  return ids;
}

inline void WriteIds(capnp::List<capnp::Data>::Builder list, std::span<const ObjectID> ids) {
  for (size_t i = 0; i < ids.size(); ++i) list.set(i, AsData(ids[i].Binary()));
}

}  // namespace ray
