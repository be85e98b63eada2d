// What a worker writes for a task: its return values (inline, or objects in the store) and the
// objects it puts, including when the task runs again after its worker was lost.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "ray/common/id.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/rpc/worker.capnp.h"
#include "ray/store/client.h"

namespace ray::core {

// Creates `id` (a task's result or put) in the store, to write and seal. A retried task may find
// it there already, sealed by an earlier attempt whose worker was lost after storing it: that
// object stands (it is a result of the same task), and its size is returned instead. One still
// unsealed belongs to a dead attempt whose disconnect the store has not handled yet: this waits
// (up to 10 s, without polling) for the store to abort it, then creates. Errors as
// StoreClient::Create.
absl::StatusOr<std::variant<store::MutableObject, uint64_t>> CreateOrFindStored(
    store::StoreClient& store, const ObjectID& id, uint64_t size);

// One task's return values: inline (up to the task's InlineBudget), or objects in the store.
class TaskReturns final : public ReturnWriter {
 public:
  TaskReturns(store::StoreClient& store, const TaskID& task, size_t count);

  // The store's error (ResourceExhausted: no room) when it refuses; see also ReturnWriter.
  absl::StatusOr<std::span<uint8_t>> Allocate(size_t index, size_t size) override;
  // InvalidArgument past rpc::MAX_IDS_PER_LIST IDs for all returns together.
  absl::Status SetNestedRefs(size_t index, std::vector<ObjectID> ids) override;
  bool AllWritten() const;

  // Seals what went to the store and describes every return for the scheduler.
  void Finish(capnp::List<rpc::Object>::Builder out);
  // The task failed: drops what it created and describes `error` as every return.
  void FinishWithError(capnp::List<rpc::Object>::Builder out, const std::string& error);

 private:
  struct Return {
    bool written = false;
    uint64_t size = 0;
    std::string inline_value;
    store::MutableObject created;
    std::optional<uint64_t> stored_before;  // its size, when an earlier attempt stored it
    std::unique_ptr<uint8_t[]> discarded;   // what the task writes then
  };

  store::StoreClient& store_;
  TaskID task_;
  std::vector<Return> returns_;
  InlineBudget inline_budget_;
  std::vector<std::vector<ObjectID>> nested_;  // empty, or one list per return
  size_t nested_count_ = 0;
};

}  // namespace ray::core
