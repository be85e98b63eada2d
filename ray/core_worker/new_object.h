// One way to write an object, for every object a runtime makes: the driver's and a worker's
// puts, a task's argument values too large to travel inline, and a task's results
// (task_returns.h). An object is either inline (its bytes kept in memory and sent in messages)
// or in the node's store; reads go through stored_objects.h.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "ray/common/id.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/store/client.h"

namespace ray::core {

// Writes an object's bytes into the span it is given.
using ObjectWrite = absl::FunctionRef<void(std::span<uint8_t>)>;

// Creates `id` (a task's result or put) in the store, to write and seal. A retried task may find
// it there already, sealed by an earlier attempt whose worker was lost after storing it: that
// object stands (it is a result of the same task), and its size is returned instead. One still
// unsealed belongs to a dead attempt whose disconnect the store has not handled yet: this waits
// (up to 10 s, without polling) for the store to abort it, then creates. Errors: the store's
// ResourceExhausted (no room) as it is; anything else as Unavailable, naming the object (not a
// read's DeadlineExceeded or NotFound, which would mean a timeout or a lost object to a caller).
absl::StatusOr<std::variant<store::MutableObject, uint64_t>> CreateOrFindStored(
    store::StoreClient& store, const ObjectID& id, uint64_t size);

// A new object being written: create it, write span(), then Finish. Dropped unfinished, a
// store object is aborted.
class NewObject {
 public:
  // What it became.
  struct Written {
    std::string inline_value;  // its bytes, when it stays inline
    bool in_store = false;
    uint64_t size = 0;  // in the store: the stored object's size
  };

  // `size` bytes for `id`: inline when `inline_ok`, else in `store` (CreateOrFindStored: when
  // an earlier attempt stored it, span() is scratch memory and what is written is dropped).
  static absl::StatusOr<NewObject> Create(store::StoreClient& store, const ObjectID& id,
                                          size_t size, bool inline_ok);
  // Create, write by `write`, Finish.
  static absl::StatusOr<Written> Write(store::StoreClient& store, const ObjectID& id, size_t size,
                                       ObjectWrite write, bool inline_ok);

  NewObject(NewObject&&) = default;
  NewObject& operator=(NewObject&&) = default;

  std::span<uint8_t> span();
  // The size of the object an earlier attempt stored (what is written now is dropped).
  std::optional<uint64_t> stored_before() const { return stored_before_; }
  // Seals a store object; errors as StoreClient::Seal.
  absl::StatusOr<Written> Finish(store::StoreClient& store) &&;

 private:
  NewObject() = default;

  uint64_t size_ = 0;
  std::string inline_value_;
  store::MutableObject created_;
  std::optional<uint64_t> stored_before_;  // its size, when an earlier attempt stored it
  std::unique_ptr<uint8_t[]> discarded_;   // what is written then
  bool inline_ = false;
};

// Moves the argument values of a task that do not fit its inline budget (InlineBudget,
// ray/rpc/inline_values.h) into objects made by `put` (a runtime's Put): each such argument
// becomes a reference.
// Returns the objects made (the caller drops its references once the task holds them). When a
// put fails, the objects made so far are handed to `release` and its error is returned. A moved
// argument keeps its value string, for the caller to free with the spec after submitting: freed
// here, the large block at the top of the heap goes back to the system, and the next task's
// argument faults its pages in again (2.5x slower tasks with 1 MiB arguments, task_bench).
absl::StatusOr<std::vector<ObjectID>> MoveLargeArgs(
    std::vector<TaskArg>& args,
    absl::FunctionRef<absl::StatusOr<ObjectID>(size_t size, ObjectWrite write)> put,
    absl::FunctionRef<void(const ObjectID&)> release);

}  // namespace ray::core
