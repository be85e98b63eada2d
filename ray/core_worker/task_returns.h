// What a worker writes for a task: its return values (inline, or objects in the store) and the
// objects it puts, including when the task runs again after its worker was lost.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "ray/common/id.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/new_object.h"
#include "ray/rpc/worker.capnp.h"
#include "ray/store/client.h"

namespace ray::core {

// One task's return values: inline (up to the task's InlineBudget), or objects in the store.
class TaskReturns final : public ReturnWriter {
 public:
  // `hold` takes a reference to the objects a return's value names, as SetNestedRefs is given
  // them; the worker gives them back (held()) once it queued the task's end. Without it, the
  // task's own references to them could go first (its code drops them as it returns), and a
  // message sent in between would free an object the result names.
  using Hold = std::function<void(std::span<const ObjectID>)>;
  TaskReturns(store::StoreClient& store, const TaskID& task, size_t count, Hold hold = nullptr);

  // The store's error (ResourceExhausted: no room) when it refuses; see also ReturnWriter.
  absl::StatusOr<std::span<uint8_t>> Allocate(size_t index, size_t size) override;
  // InvalidArgument past rpc::MAX_IDS_PER_LIST IDs for all returns together.
  absl::Status SetNestedRefs(size_t index, std::vector<ObjectID> ids) override;
  // The objects `hold` took a reference to, for the worker to give back.
  const std::vector<ObjectID>& held() const { return held_; }
  // MissingReturn for the first return not written.
  absl::Status CheckAllWritten() const;

  // Seals what went to the store: the first failure, after which the task ends with
  // FinishWithError (a return sealed before it stands, as an earlier attempt's would).
  absl::Status Seal();
  // Describes every return for the scheduler. REQUIRES: Seal() succeeded.
  void Finish(capnp::List<rpc::Object>::Builder out);
  // The task failed: drops what it created and describes `error` as every return, except one
  // that an earlier attempt (or Seal) already stored, which stands.
  void FinishWithError(capnp::List<rpc::Object>::Builder out, const std::string& error);

 private:
  struct Return {
    std::optional<NewObject> object;            // once allocated
    std::optional<NewObject::Written> written;  // once sealed
  };

  store::StoreClient& store_;
  TaskID task_;
  std::vector<Return> returns_;
  InlineBudget inline_budget_;
  std::vector<std::vector<ObjectID>> nested_;  // empty, or one list per return
  size_t nested_count_ = 0;
  Hold hold_;
  std::vector<ObjectID> held_;
};

}  // namespace ray::core
