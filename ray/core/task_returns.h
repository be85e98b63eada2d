// What a worker writes for a task: its return values, inline or objects in the store.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ray/core/core_runtime.h"
#include "ray/core/id.h"
#include "ray/core/worker.capnp.h"
#include "ray/store/client.h"

namespace ray::core {

// One task's return values: inline (up to the task's InlineBudget), or objects in the store.
class TaskReturns final : public ReturnWriter {
 public:
  TaskReturns(store::StoreClient& store, const TaskID& task, size_t count);

  // Throws ObjectStoreFullError (or RayError) when the store refuses.
  std::span<uint8_t> Allocate(size_t index, size_t size) override;
  // Throws RayError past rpc::MAX_IDS_PER_LIST IDs for all returns together.
  void SetNestedRefs(size_t index, std::vector<ObjectID> ids) override;
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
  };

  store::StoreClient& store_;
  TaskID task_;
  std::vector<Return> returns_;
  InlineBudget inline_budget_;
  std::vector<std::vector<ObjectID>> nested_;  // empty, or one list per return
  size_t nested_count_ = 0;
};

}  // namespace ray::core
