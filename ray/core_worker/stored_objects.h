// Reading objects from the node's store into ObjectValues: what the driver's and a worker's Get
// and a task's arguments share.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/common/id.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/object_manager/object_source.h"
#include "ray/store/client.h"

namespace ray::core {

// A pinned object as a value (the buffer keeps the pin while the value lives).
ObjectValue ValueOf(store::ObjectBuffer buffer);

// What a reader gets when copying `id` from the node whose object server is `source` failed with
// `copied`: a full store or a deadline as they are, anything else NotFound (ObjectLostError),
// naming the source.
absl::Status CopyFailed(const ObjectID& id, std::string_view source, const absl::Status& copied);
// The first of `copied` (one per object) that failed, as CopyFailed; OK if none.
absl::Status FirstCopyFailure(std::span<const object_manager::ObjectSource> objects,
                              std::span<const absl::Status> copied);

// Reads objects the scheduler said exist: a seal may still be on its way (waited for, at most
// `timeout`: DeadlineExceeded); one that is gone is NotFound at once (ray/object/status.h).
// One value per ID, in order.
absl::StatusOr<std::vector<ObjectValue>> ReadStoredObjects(store::StoreClient& store,
                                                           std::span<const ObjectID> ids,
                                                           absl::Duration timeout);

}  // namespace ray::core
