// The scheduler's side of one worker's socket: what goes out next (the outbox, filled under
// the scheduler's lock), split into ToWorker messages of at most rpc::BATCH_BYTES plus one item
// (written with worker_messages.h), and the stream that writes them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "ray/common/id.h"
#include "ray/function/function_table.h"
#include "ray/node/task_record.h"
#include "ray/rpc/message_stream.h"

namespace ray::core {

class WorkerConnection {
 public:
  // The reply to one blocking request of the worker (a get, a wait or a lookup).
  struct Reply {
    uint64_t request = 0;  // its ID (worker.capnp GetRequest.requestId)
    struct Object {
      ObjectID id;
      std::shared_ptr<const std::string> value;  // null: in the store
      uint64_t size;
      std::string source;  // for one in another node's store: that node's object server
    };
    std::vector<Object> objects;  // a get's
    std::optional<std::string> get_failed;
    std::optional<std::vector<ObjectID>> ready;             // a wait's
    std::optional<std::pair<ObjectID, std::string>> actor;  // a lookup's answer (nil: none)
  };
  // What goes out in the next messages.
  struct Outbox {
    std::vector<uint64_t> functions;
    std::vector<TaskID> tasks;
    bool return_queued = false;
    // The first goes with the tasks; each other in messages of its own (one reply a message).
    std::vector<Reply> replies;
    bool empty() const {
      return functions.empty() && tasks.empty() && !return_queued && replies.empty();
    }
  };

  // What the encoder reads of the scheduler's tables for the items the outbox names.
  struct Tables {
    absl::FunctionRef<const FunctionRecord&(uint64_t)> function;
    absl::FunctionRef<const TaskRecord&(const TaskID&)> task;
    // The value a task's argument `ref` carries inline; null: the worker reads it from the
    // store.
    absl::FunctionRef<const std::string*(const ObjectID&)> inline_value;
    // For an argument in the store: the object server of a node holding it when this worker's
    // node does not ("" when it does).
    absl::FunctionRef<std::string_view(const ObjectID&)> source;
  };

  // Takes ownership of the socket `fd`.
  explicit WorkerConnection(int fd);

  MessageStream& stream() { return stream_; }
  Outbox& outbox() { return outbox_; }

  // Adds a task to the outbox, and its function the first time this worker is sent it.
  void AddTask(const TaskRecord& task);
  // Encodes the outbox into messages on the stream, in the order in which the worker handles a
  // message's fields so that the order holds across messages, and empties it. A message carries
  // one reply at most (ToWorker.replyTo names its request).
  void QueueOutbox(const Tables& tables);
  // What `task` adds to a message, roughly.
  static size_t MessageBytes(const TaskRecord& task, const Tables& tables);

  bool watching_writes = false;  // the scheduler's epoll waits for the socket to take more

 private:
  // Queues the messages that carry these tasks (and functions) and `reply`'s parts (either may be
  // empty): the reply's last fields in the last one.
  void QueueMessages(const Tables& tables, std::span<const uint64_t> functions,
                     std::span<const TaskID> tasks, bool return_queued, const Reply* reply);

  MessageStream stream_;
  Outbox outbox_;
  absl::flat_hash_set<uint64_t> functions_sent_;
};

}  // namespace ray::core
