// Tasks in worker.capnp messages (Task, Arg): written from plain values, read as checked views
// into the message (see checked_list.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ray/common/actor_options.h"
#include "ray/common/id.h"
#include "ray/common/resources.h"
#include "ray/rpc/checked_list.h"
#include "ray/rpc/id_lists.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {

// A task's fields besides its lists.
struct TaskHeader {
  TaskID id;
  TaskID parent;
  uint64_t function = 0;  // the key of its FunctionDef
  uint32_t num_returns = 0;
  double num_cpus = 0;
  int32_t max_retries = 0;
  std::string_view name;  // "": the function's name
  bool run_while_blocked = false;
  ObjectID actor;                                     // a call of this actor; nil: a plain task
  std::shared_ptr<const ActorOptions> creates_actor;  // set: it makes an actor (see TaskRecord)
  bool actor_restart = false;                         // to a worker: the actor's factory ran before
};

// An argument: an object (`ref`), or when `ref` is nil a serialized value inline. To a worker,
// `source` names the object server of a node holding `ref` when the worker's node does not.
struct ArgView {
  ObjectID ref;
  std::string_view value;
  std::string_view source;
};

// Custom resources a task asks for: at most this many (as ray/core_worker/limits.h).
inline constexpr size_t kMaxTaskResourcesOnWire = 64;

// Writes a task whose i-th of `num_args` arguments is `arg(i)`.
void WriteTask(rpc::Task::Builder out, const TaskHeader& task, size_t num_args,
               absl::FunctionRef<ArgView(size_t)> arg, std::span<const ObjectID> nested_refs = {},
               const ResourceAmounts& resources = {});

// InvalidArgument for a ref of the wrong length or a nil one, or neither a value (any bytes)
// nor a ref.
absl::Status CheckArg(rpc::Arg::Reader in);
// REQUIRES: CheckArg(in).ok().
ArgView ReadArg(rpc::Arg::Reader in);
using ArgList = CheckedList<rpc::Arg, ArgView, &ReadArg, &CheckArg, rpc::MAX_IDS_PER_LIST>;

struct TaskView {
  TaskHeader header;
  ArgList args;
  IdList<ObjectID> nested_refs;  // objects the argument values reference
  ResourceAmounts resources;
};

// InvalidArgument for a task without an ID, an ID of the wrong length, an argument that names
// no object, more than rpc::MAX_IDS_PER_LIST arguments or nested references, or a resource
// without a name, with an amount not finite and positive, or past kMaxTaskResources.
absl::Status CheckTask(rpc::Task::Reader in);
// REQUIRES: CheckTask(in).ok().
TaskView ReadTask(rpc::Task::Reader in);

using TaskList = CheckedList<rpc::Task, TaskView, &ReadTask, &CheckTask>;

}  // namespace ray::core
