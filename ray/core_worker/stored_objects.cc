#include "ray/core_worker/stored_objects.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ray::core {
namespace {

// A failed read of `id`, which the scheduler said exists, in the words of ray/object/status.h.
absl::Status ReadError(const absl::Status& status, const ObjectID& id) {
  if (absl::IsDeadlineExceeded(status)) {
    return absl::DeadlineExceededError(absl::StrCat("Get timed out: object ", id.Hex(),
                                                    " was not sealed in the node's store in time"));
  }
  if (absl::IsNotFound(status)) {
    return absl::NotFoundError(absl::StrCat(
        "object ", id.Hex(),
        " is no longer in the node's store (it was deleted, or the process that made it died "
        "before it was written)"));
  }
  return status;
}

}  // namespace

absl::Status CopyFailed(const ObjectID& id, std::string_view source, const absl::Status& copied) {
  const bool as_is = copied.code() == absl::StatusCode::kResourceExhausted ||
                     copied.code() == absl::StatusCode::kDeadlineExceeded;
  return absl::Status(as_is ? copied.code() : absl::StatusCode::kNotFound,
                      absl::StrCat("object ", id.Hex(), " could not be copied from the node at ",
                                   std::string(source), ": ", copied.message()));
}

absl::Status FirstCopyFailure(std::span<const object_manager::ObjectSource> objects,
                              std::span<const absl::Status> copied) {
  for (size_t i = 0; i < objects.size(); ++i) {
    if (!copied[i].ok()) return CopyFailed(objects[i].id, objects[i].address, copied[i]);
  }
  return absl::OkStatus();
}

ObjectValue ValueOf(store::ObjectBuffer buffer) {
  auto owner = std::make_shared<store::ObjectBuffer>(std::move(buffer));
  return {owner->span(), owner};
}

absl::StatusOr<std::vector<ObjectValue>> ReadStoredObjects(store::StoreClient& store,
                                                           std::span<const ObjectID> ids,
                                                           absl::Duration timeout) {
  auto buffers = store.Get(ids, timeout, store::StoreClient::IfAbsent::kFail);
  std::vector<ObjectValue> values;
  values.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!buffers[i].ok()) return ReadError(buffers[i].status(), ids[i]);
    values.push_back(ValueOf(*std::move(buffers[i])));
  }
  return values;
}

}  // namespace ray::core
