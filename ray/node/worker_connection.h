// The scheduler's side of one worker's socket: what goes out next (the outbox, filled under
// the scheduler's lock), split into ToWorker messages of at most rpc::BATCH_BYTES plus one item
// (written with worker_messages.h), and the stream that writes them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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
  // What goes out in the next message.
  struct Outbox {
    std::vector<uint64_t> functions;
    std::vector<TaskID> tasks;
    struct Object {
      ObjectID id;
      std::shared_ptr<const std::string> value;  // null: in the store
      uint64_t size;
      std::string source;  // for one in another node's store: that node's object server
    };
    std::vector<Object> objects;
    std::optional<std::string> get_failed;
    std::optional<std::vector<ObjectID>> ready;
    bool return_queued = false;
    std::optional<std::pair<ObjectID, std::string>> actor;  // a lookup's answer (nil: none)
    bool empty() const {
      return functions.empty() && tasks.empty() && objects.empty() && !get_failed && !ready &&
             !return_queued && !actor;
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
  // message's fields so that the order holds across messages, and empties it.
  void QueueOutbox(const Tables& tables);
  // What `task` adds to a message, roughly.
  static size_t MessageBytes(const TaskRecord& task, const Tables& tables);

  bool watching_writes = false;  // the scheduler's epoll waits for the socket to take more

 private:
  MessageStream stream_;
  Outbox outbox_;
  absl::flat_hash_set<uint64_t> functions_sent_;
};

}  // namespace ray::core
