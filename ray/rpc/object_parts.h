// Objects in worker.capnp messages (Object), and the results of a task (TaskDone): written from
// plain values, read as checked views into the message (see checked_list.h).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ray/common/id.h"
#include "ray/rpc/checked_list.h"
#include "ray/rpc/id_lists.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {

// An object's value: inline bytes, or a note that it is sealed in the node's store.
struct ObjectView {
  ObjectID id;
  bool in_store = false;
  std::string_view value;  // when not in the store
  uint64_t size = 0;       // of the value, inline or in the store
  IdList<ObjectID> nested_refs;
  // To a worker, for one in the store of another node: that node's object server (HOST:PORT).
  std::string_view source;
};

// An object whose value goes inline.
void WriteObject(rpc::Object::Builder out, const ObjectID& id, std::string_view value,
                 std::span<const ObjectID> nested_refs = {});
// An object sealed in the store, of `size` bytes (in the store of the node whose object server
// is `source`, when not empty).
void WriteStoredObject(rpc::Object::Builder out, const ObjectID& id, uint64_t size,
                       std::span<const ObjectID> nested_refs = {}, std::string_view source = {});

// InvalidArgument for an object without an ID or with one of the wrong length, neither a value
// nor in the store, or with more than rpc::MAX_IDS_PER_LIST nested references.
absl::Status CheckObject(rpc::Object::Reader in);
// REQUIRES: CheckObject(in).ok().
ObjectView ReadObject(rpc::Object::Reader in);

using ObjectList = CheckedList<rpc::Object, ObjectView, &ReadObject, &CheckObject>;

struct TaskDoneView {
  TaskID task;
  ObjectList returns;
  int64_t started_ns = 0;  // when the worker started and ended it (Unix time, its clock)
  int64_t finished_ns = 0;
};

// Writes a task's end and returns its list of `num_returns` results, for the caller to write
// (WriteObject, WriteStoredObject).
capnp::List<rpc::Object>::Builder WriteTaskDone(rpc::TaskDone::Builder out, const TaskID& task,
                                                int64_t started_ns, int64_t finished_ns,
                                                size_t num_returns);

// As CheckObject for each result, and InvalidArgument for a task ID of the wrong length.
absl::Status CheckTaskDone(rpc::TaskDone::Reader in);
// REQUIRES: CheckTaskDone(in).ok().
TaskDoneView ReadTaskDone(rpc::TaskDone::Reader in);

using TaskDoneList = CheckedList<rpc::TaskDone, TaskDoneView, &ReadTaskDone, &CheckTaskDone>;

}  // namespace ray::core
