// The codec of worker.capnp's messages, for both sides: the scheduler writes ToWorker and reads
// FromWorker (ray/node), a worker the other way round (ray/core_worker).
//
// Reading checks a whole message first (IDs of the right length, fields present, lists within
// rpc::MAX_IDS_PER_LIST, what Cap'n Proto can read) and gives InvalidArgument for a malformed
// one, never a crash; its parts are then plain views into the message (checked_list.h), which
// the caller keeps alive as long as it uses them: no value is copied. Writing takes a message's
// builder and plain values, part by part (function_defs.h, task_parts.h, object_parts.h,
// id_lists.h and the requests below): each side keeps its own records (the scheduler's
// TaskRecord, the worker's outbox) and splits its batches over messages (rpc::BATCH_BYTES).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ray/common/id.h"
#include "ray/rpc/function_defs.h"
#include "ray/rpc/id_lists.h"
#include "ray/rpc/object_parts.h"
#include "ray/rpc/task_parts.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {

// A blocking request's ID: chosen by the worker, echoed in the reply (ToWorkerView::reply_to).
using RequestId = uint64_t;

struct GetRequestView {
  RequestId request = 0;
  IdList<ObjectID> ids;
  int64_t timeout_ms = -1;  // negative: forever
};

struct WaitRequestView {
  RequestId request = 0;
  IdList<ObjectID> ids;
  uint32_t num_returns = 0;
  int64_t timeout_ms = -1;
};

struct LookupRequestView {
  RequestId request = 0;
  std::string_view name;
};

// At most rpc::MAX_IDS_PER_LIST `ids` each.
void WriteGetRequest(rpc::FromWorker::Builder out, RequestId request, std::span<const ObjectID> ids,
                     int64_t timeout_ms);
void WriteWaitRequest(rpc::FromWorker::Builder out, RequestId request,
                      std::span<const ObjectID> ids, uint32_t num_returns, int64_t timeout_ms);
void WriteLookupRequest(rpc::FromWorker::Builder out, RequestId request, std::string_view name);

struct FromWorkerView {
  int32_t pid = 0;           // in a worker's first message
  std::string_view node_id;  // in a worker's first message
  bool client = false;       // in a client's first message (worker.capnp FromWorker.client)
  std::vector<FunctionDef> functions;
  ObjectList puts;
  TaskList submits;
  IdList<ObjectID> add_refs;
  TaskDoneList done;
  IdList<ObjectID> remove_refs;
  IdList<TaskID> handed_back;
  IdList<ObjectID> copied;
  IdList<ObjectID> kill_actors;
  IdList<ObjectID> restart_actors;
  IdList<ObjectID> exiting_actors;
  std::optional<LookupRequestView> lookup_actor;
  std::optional<GetRequestView> get;
  std::optional<WaitRequestView> wait;
};

absl::StatusOr<FromWorkerView> ReadFromWorker(rpc::FromWorker::Reader in);

struct ToWorkerView {
  std::vector<FunctionDef> functions;
  TaskList tasks;
  ObjectList objects;
  std::optional<std::string_view> get_failed;
  std::optional<IdList<ObjectID>> ready;
  bool return_queued = false;
  struct ActorFound {
    ObjectID id;  // nil: no actor of that name
    std::string_view type;
  };
  std::optional<ActorFound> actor;
  RequestId reply_to = 0;  // the request that `objects`, `get_failed`, `ready` or `actor` answer
};

absl::StatusOr<ToWorkerView> ReadToWorker(rpc::ToWorker::Reader in);

}  // namespace ray::core
