#include "ray/core_worker/task_returns.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "ray/common/capnp_bytes.h"
#include "ray/common/capnp_ids.h"

namespace ray::core {
namespace {

// How long a retry waits for the store to drop an unsealed object its dead earlier attempt left.
constexpr absl::Duration kEarlierAttemptWait = absl::Seconds(10);

}  // namespace

absl::StatusOr<std::variant<store::MutableObject, uint64_t>> CreateOrFindStored(
    store::StoreClient& store, const ObjectID& id, uint64_t size) {
  absl::StatusOr<store::MutableObject> created = store.Create(id, size);
  if (created.ok() || created.status().code() != absl::StatusCode::kAlreadyExists) {
    if (!created.ok()) return created.status();
    return *std::move(created);
  }
  // Sealed: it stands. Unsealed: the store aborts it once it has handled its dead maker's
  // disconnect, and a read that fails on absent objects is told so then.
  absl::StatusOr<store::ObjectBuffer> stored =
      store.Get(id, kEarlierAttemptWait, store::StoreClient::IfAbsent::kFail);
  if (stored.ok()) return uint64_t{stored->size()};
  if (!absl::IsNotFound(stored.status())) return stored.status();
  created = store.Create(id, size);
  if (!created.ok()) return created.status();
  return *std::move(created);
}

TaskReturns::TaskReturns(store::StoreClient& store, const TaskID& task, size_t count)
    : store_(store), task_(task), returns_(count) {}

absl::StatusOr<std::span<uint8_t>> TaskReturns::Allocate(size_t index, size_t size) {
  const bool written = index < returns_.size() && returns_[index].written;
  if (absl::Status fits = CheckReturnIndex(index, returns_.size(), written); !fits.ok())
    return fits;
  Return& r = returns_[index];
  r.written = true;
  r.size = size;
  if (inline_budget_.Take(size)) {
    r.inline_value.assign(size, '\0');
    return std::span<uint8_t>(reinterpret_cast<uint8_t*>(r.inline_value.data()), size);
  }
  auto object = CreateOrFindStored(store_, ObjectID::ForReturn(task_, index + 1), size);
  if (!object.ok()) {
    r.written = false;
    return object.status();
  }
  if (auto* created = std::get_if<store::MutableObject>(&*object)) {
    r.created = std::move(*created);
    return r.created.span();
  }
  r.stored_before = std::get<uint64_t>(*object);
  r.discarded = std::make_unique_for_overwrite<uint8_t[]>(size);
  return std::span<uint8_t>(r.discarded.get(), size);
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
  nested_[index] = std::move(ids);
  return absl::OkStatus();
}

bool TaskReturns::AllWritten() const {
  for (const Return& r : returns_) {
    if (!r.written) return false;
  }
  return true;
}

void TaskReturns::Finish(capnp::List<rpc::Object>::Builder out) {
  for (size_t i = 0; i < returns_.size(); ++i) {
    Return& r = returns_[i];
    out[i].setId(AsData(ObjectID::ForReturn(task_, i + 1).Binary()));
    if (r.created.data() != nullptr) {
      (void)store_.Seal(std::move(r.created));
      out[i].setInStore(r.size);
    } else if (r.stored_before) {
      out[i].setInStore(*r.stored_before);
    } else {
      out[i].setValue(AsData(r.inline_value));
    }
    if (i < nested_.size() && !nested_[i].empty()) {
      WriteIds(out[i].initNestedRefs(nested_[i].size()), nested_[i]);
    }
  }
}

void TaskReturns::FinishWithError(capnp::List<rpc::Object>::Builder out, const std::string& error) {
  InlineBudget budget;
  for (size_t i = 0; i < returns_.size(); ++i) {
    returns_[i].created = store::MutableObject();  // aborts it, if created
    const ObjectID id = ObjectID::ForReturn(task_, i + 1);
    out[i].setId(AsData(id.Binary()));
    if (returns_[i].stored_before) {  // an earlier attempt's result stands
      out[i].setInStore(*returns_[i].stored_before);
    } else if (budget.Take(error.size())) {
      out[i].setValue(AsData(error));
    } else if (auto object = CreateOrFindStored(store_, id, error.size()); !object.ok()) {
      out[i].setValue(AsData(error));  // the store refuses: inline after all
    } else if (auto* created = std::get_if<store::MutableObject>(&*object)) {
      std::memcpy(created->data(), error.data(), error.size());
      (void)store_.Seal(std::move(*created));
      out[i].setInStore(error.size());
    } else {
      out[i].setInStore(std::get<uint64_t>(*object));
    }
  }
}

}  // namespace ray::core
