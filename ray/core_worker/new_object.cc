#include "ray/core_worker/new_object.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ray/rpc/inline_values.h"

namespace ray::core {
namespace {

// How long a retry waits for the store to drop an unsealed object its dead earlier attempt left.
constexpr absl::Duration kEarlierAttemptWait = absl::Seconds(10);

// A failed write as a caller sees it: no room stays ResourceExhausted; the rest is the store
// failing (Unavailable), whatever code its call gave.
absl::Status WriteError(const absl::Status& status, const ObjectID& id) {
  if (absl::IsResourceExhausted(status)) return status;
  return absl::UnavailableError(
      absl::StrCat("the object store could not write object ", id.Hex(), ": ", status.message()));
}

absl::StatusOr<std::variant<store::MutableObject, uint64_t>> FindOrCreate(store::StoreClient& store,
                                                                          const ObjectID& id,
                                                                          uint64_t size) {
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

}  // namespace

absl::StatusOr<std::variant<store::MutableObject, uint64_t>> CreateOrFindStored(
    store::StoreClient& store, const ObjectID& id, uint64_t size) {
  auto object = FindOrCreate(store, id, size);
  if (!object.ok()) return WriteError(object.status(), id);
  return object;
}

absl::StatusOr<NewObject> NewObject::Create(store::StoreClient& store, const ObjectID& id,
                                            size_t size, bool inline_ok) {
  NewObject object;
  object.size_ = size;
  if (inline_ok) {
    object.inline_ = true;
    object.inline_value_.resize(size);
    return object;
  }
  auto created = CreateOrFindStored(store, id, size);
  if (!created.ok()) return created.status();
  if (auto* mutable_object = std::get_if<store::MutableObject>(&*created)) {
    object.created_ = std::move(*mutable_object);
  } else {
    object.stored_before_ = std::get<uint64_t>(*created);
    object.discarded_ = std::make_unique_for_overwrite<uint8_t[]>(size);
  }
  return object;
}

absl::StatusOr<NewObject::Written> NewObject::Write(store::StoreClient& store, const ObjectID& id,
                                                    size_t size, ObjectWrite write,
                                                    bool inline_ok) {
  absl::StatusOr<NewObject> object = Create(store, id, size, inline_ok);
  if (!object.ok()) return object.status();
  if (!object->stored_before()) write(object->span());  // else what stands is kept
  return std::move(*object).Finish(store);
}

std::span<uint8_t> NewObject::span() {
  if (inline_) return {reinterpret_cast<uint8_t*>(inline_value_.data()), size_};
  if (stored_before_) return {discarded_.get(), size_};
  return created_.span();
}

absl::StatusOr<NewObject::Written> NewObject::Finish(store::StoreClient& store) && {
  if (inline_) {
    return Written{.inline_value = std::move(inline_value_), .in_store = false, .size = size_};
  }
  if (stored_before_) return Written{.in_store = true, .size = *stored_before_};
  const ObjectID id = created_.id();
  if (absl::Status sealed = store.Seal(std::move(created_)); !sealed.ok()) {
    return WriteError(sealed, id);
  }
  return Written{.in_store = true, .size = size_};
}

absl::StatusOr<std::vector<ObjectID>> MoveLargeArgs(
    std::vector<TaskArg>& args,
    absl::FunctionRef<absl::StatusOr<ObjectID>(size_t size, ObjectWrite write)> put,
    absl::FunctionRef<void(const ObjectID&)> release) {
  std::vector<ObjectID> stored;
  InlineBudget inline_budget;
  for (TaskArg& arg : args) {
    if (!arg.ref.IsNil() || inline_budget.Take(arg.value.size())) continue;
    const std::string& value = arg.value;
    absl::StatusOr<ObjectID> id = put(value.size(), [&](std::span<uint8_t> out) {
      std::memcpy(out.data(), value.data(), value.size());
    });
    if (!id.ok()) {
      for (const ObjectID& made : stored) release(made);
      return id.status();
    }
    arg.ref = *id;  // its value stays, freed with the spec (see new_object.h)
    stored.push_back(*id);
  }
  return stored;
}

}  // namespace ray::core
