// What a worker sends the scheduler next, and how it goes out: over as many FromWorker messages
// as it takes (frame sizes in worker.capnp), its items in the order in which the scheduler
// handles a message's fields, so that the order holds across messages.
#pragma once

#include <capnp/message.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ray/common/id.h"
#include "ray/faults/fault_injection.h"
#include "ray/function/function_table.h"
#include "ray/rpc/message_stream.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {

struct WorkerOutbox {
  // Submits and results are built here before they are sent (declared first: destroyed last).
  std::unique_ptr<capnp::MallocMessageBuilder> arena =
      std::make_unique<capnp::MallocMessageBuilder>();
  std::vector<std::pair<uint64_t, FunctionRecord>> functions;
  std::vector<capnp::Orphan<rpc::Task>> submits;
  struct Put {
    ObjectID id;
    std::variant<std::string, uint64_t> value;  // inline bytes, or the size in the store
    std::vector<ObjectID> nested_refs;
  };
  std::vector<Put> puts;
  size_t put_bytes = 0;  // of the puts' inline values
  std::vector<ObjectID> add_refs, remove_refs;
  std::vector<TaskID> handed_back;
  std::vector<capnp::Orphan<rpc::TaskDone>> done;
  std::vector<ObjectID> copied;          // into this node's store, from another node's
  std::vector<ObjectID> kill_actors;     // handle.Kill() (no restart)
  std::vector<ObjectID> restart_actors;  // handle.Kill(false)
  std::vector<ObjectID> exiting_actors;  // ray::ExitActor (its own)

  bool empty() const {
    return functions.empty() && submits.empty() && puts.empty() && add_refs.empty() &&
           remove_refs.empty() && handed_back.empty() && done.empty() && copied.empty() &&
           kill_actors.empty() && restart_actors.empty() && exiting_actors.empty();
  }
  // Queues everything on `stream`, in messages of at most rpc::BATCH_BYTES and one item, `extra`
  // adding its fields to the last one (a `get`, a `wait`, the pid), and empties the outbox.
  // `fault` (see fault_injection.h) breaks the first message.
  void QueueOn(MessageStream& stream, const std::function<void(rpc::FromWorker::Builder)>& extra,
               faults::Action fault);
};

}  // namespace ray::core
