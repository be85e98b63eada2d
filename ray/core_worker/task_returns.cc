#include "ray/core_worker/task_returns.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "ray/rpc/object_parts.h"

namespace ray::core {

TaskReturns::TaskReturns(store::StoreClient& store, const TaskID& task, size_t count, Hold hold)
    : store_(store), task_(task), returns_(count), hold_(std::move(hold)) {}

absl::StatusOr<std::span<uint8_t>> TaskReturns::Allocate(size_t index, size_t size) {
  const bool written = index < returns_.size() && returns_[index].object.has_value();
  if (absl::Status fits = CheckReturnIndex(index, returns_.size(), written); !fits.ok())
    return fits;
  auto object = NewObject::Create(store_, ObjectID::ForReturn(task_, index + 1), size,
                                  inline_budget_.Take(size));
  if (!object.ok()) return object.status();
  Return& r = returns_[index];
  r.object.emplace(*std::move(object));
  return r.object->span();
}

absl::Status TaskReturns::SetNestedRefs(size_t index, std::vector<ObjectID> ids) {
  if (index >= returns_.size()) return CheckReturnIndex(index, returns_.size(), false);
  if (nested_.empty()) nested_.resize(returns_.size());  // most tasks never need it
  const size_t count = nested_count_ - nested_[index].size() + ids.size();
  if (count > rpc::MAX_IDS_PER_LIST) {
    return absl::InvalidArgumentError(
        absl::StrCat("a task's results may reference at most ", rpc::MAX_IDS_PER_LIST, " objects"));
  }
  nested_count_ = count;
  if (hold_ && !ids.empty()) {
    hold_(ids);
    held_.insert(held_.end(), ids.begin(), ids.end());
  }
  nested_[index] = std::move(ids);
  return absl::OkStatus();
}

absl::Status TaskReturns::CheckAllWritten() const {
  for (size_t i = 0; i < returns_.size(); ++i) {
    if (!returns_[i].object) return MissingReturn(i, returns_.size());
  }
  return absl::OkStatus();
}

absl::Status TaskReturns::Seal() {
  for (Return& r : returns_) {
    if (!r.object || r.written) continue;
    absl::StatusOr<NewObject::Written> written = std::move(*r.object).Finish(store_);
    r.object.reset();
    if (!written.ok()) return written.status();
    r.written = *std::move(written);
  }
  return absl::OkStatus();
}

void TaskReturns::Finish(capnp::List<rpc::Object>::Builder out) {
  for (size_t i = 0; i < returns_.size(); ++i) {
    const ObjectID id = ObjectID::ForReturn(task_, i + 1);
    std::span<const ObjectID> nested;
    if (i < nested_.size()) nested = nested_[i];
    const NewObject::Written& written = *returns_[i].written;
    if (written.in_store) {
      WriteStoredObject(out[i], id, written.size, nested);
    } else {
      WriteObject(out[i], id, written.inline_value, nested);
    }
  }
}

void TaskReturns::FinishWithError(capnp::List<rpc::Object>::Builder out, const std::string& error) {
  InlineBudget budget;
  for (size_t i = 0; i < returns_.size(); ++i) {
    Return& r = returns_[i];
    const ObjectID id = ObjectID::ForReturn(task_, i + 1);
    std::optional<uint64_t> stored;  // what stands in the store for this return
    if (r.written && r.written->in_store) stored = r.written->size;
    if (r.object) stored = r.object->stored_before();
    r.object.reset();  // aborts what this attempt created and did not seal
    if (stored) {
      WriteStoredObject(out[i], id, *stored);
      continue;
    }
    auto written = NewObject::Write(
        store_, id, error.size(),
        [&](std::span<uint8_t> bytes) { std::memcpy(bytes.data(), error.data(), error.size()); },
        budget.Take(error.size()));
    if (written.ok() && written->in_store) {
      WriteStoredObject(out[i], id, written->size);  // an earlier attempt's result, if any
    } else {
      WriteObject(out[i], id, error);  // inline, also when the store refuses
    }
  }
}

}  // namespace ray::core
