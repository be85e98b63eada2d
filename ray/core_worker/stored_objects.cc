#include "ray/core_worker/stored_objects.h"

#include <memory>
#include <utility>

#include "ray/object/errors.h"

namespace ray::core {

ObjectValue ValueOf(store::ObjectBuffer buffer) {
  auto owner = std::make_shared<store::ObjectBuffer>(std::move(buffer));
  return {owner->span(), owner};
}

std::vector<ObjectValue> ReadStoredObjects(store::StoreClient& store, std::span<const ObjectID> ids,
                                           absl::Duration timeout) {
  auto buffers = store.Get(ids, timeout, store::StoreClient::IfAbsent::kFail);
  std::vector<ObjectValue> values;
  values.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!buffers[i].ok()) ThrowStoreReadError(buffers[i].status(), ids[i]);
    values.push_back(ValueOf(*std::move(buffers[i])));
  }
  return values;
}

}  // namespace ray::core
