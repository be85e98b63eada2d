#include "ray/node/worker_connection.h"

#include <capnp/message.h>

#include "ray/common/capnp_bytes.h"
#include "ray/rpc/worker_messages.h"

namespace ray::core {
namespace {

// Bytes an item adds to a message besides its values (pointers, IDs, fields), roughly.
constexpr size_t kItemOverhead = 64;

}  // namespace

WorkerConnection::WorkerConnection(int fd) : stream_(fd, rpc::MAX_FRAME_BYTES) {}

void WorkerConnection::AddTask(const TaskRecord& task) {
  if (functions_sent_.insert(task.function_key).second) {
    outbox_.functions.push_back(task.function_key);
  }
  outbox_.tasks.push_back(task.id);
}

size_t WorkerConnection::MessageBytes(const TaskRecord& task, const Tables& tables) {
  size_t bytes = kItemOverhead + task.name.size();
  for (const auto& arg : task.args) {
    bytes += kItemOverhead + arg.value.size();
    if (arg.ref.IsNil()) continue;
    if (const std::string* value = tables.inline_value(arg.ref)) bytes += value->size();
  }
  return bytes;
}

void WorkerConnection::QueueOutbox(const Tables& tables) {
  const std::vector<Reply>& replies = outbox_.replies;
  QueueMessages(tables, outbox_.functions, outbox_.tasks, outbox_.return_queued,
                replies.empty() ? nullptr : &replies[0]);
  for (size_t r = 1; r < replies.size(); ++r) QueueMessages(tables, {}, {}, false, &replies[r]);
  outbox_ = Outbox();
}

void WorkerConnection::QueueMessages(const Tables& tables, std::span<const uint64_t> functions_out,
                                     std::span<const TaskID> tasks_out, bool return_queued,
                                     const Reply* reply) {
  static const Reply kNone;
  const Reply& answer = reply != nullptr ? *reply : kNone;
  size_t functions_from = 0, tasks_from = 0, objects_from = 0;
  while (true) {
    size_t budget = rpc::BATCH_BYTES;
    size_t functions_to = TakeWithin(functions_from, functions_out.size(), budget, [&](size_t i) {
      return FunctionDefBytes(tables.function(functions_out[i]));
    });
    size_t tasks_to = TakeWithin(tasks_from, tasks_out.size(), budget, [&](size_t i) {
      return MessageBytes(tables.task(tasks_out[i]), tables);
    });
    size_t objects_to = TakeWithin(objects_from, answer.objects.size(), budget, [&](size_t i) {
      const auto& value = answer.objects[i].value;
      return kItemOverhead + (value != nullptr ? value->size() : 0);
    });
    const bool last = functions_to == functions_out.size() && tasks_to == tasks_out.size() &&
                      objects_to == answer.objects.size();

    capnp::MallocMessageBuilder message;
    auto out = message.initRoot<rpc::ToWorker>();
    auto functions = out.initFunctions(functions_to - functions_from);
    for (size_t i = functions_from; i < functions_to; ++i) {
      WriteFunctionDef(functions[i - functions_from], functions_out[i],
                       tables.function(functions_out[i]));
    }
    auto tasks = out.initTasks(tasks_to - tasks_from);
    for (size_t i = tasks_from; i < tasks_to; ++i) {
      const TaskRecord& task = tables.task(tasks_out[i]);
      const TaskHeader header{.id = task.id,
                              .parent = task.parent,
                              .function = task.function_key,
                              .num_returns = static_cast<uint32_t>(task.num_returns),
                              .num_cpus = task.num_cpus,
                              .max_retries = task.retries_left,
                              .name = task.name,
                              .run_while_blocked = task.run_while_blocked,
                              // the worker runs its calls as the options say
                              .creates_actor = task.creates_actor,
                              .actor_restart = task.actor_restart};
      // An argument the scheduler holds inline goes by value: the worker needs no read.
      WriteTask(
          tasks[i - tasks_from], header, task.args.size(),
          [&](size_t a) -> ArgView {
            const TaskRecord::Arg& arg = task.args[a];
            if (arg.ref.IsNil()) return {.value = arg.value};
            if (const std::string* value = tables.inline_value(arg.ref)) return {.value = *value};
            return {.ref = arg.ref, .source = tables.source(arg.ref)};
          },
          {}, task.resources);
    }
    auto objects = out.initObjects(objects_to - objects_from);
    for (size_t i = objects_from; i < objects_to; ++i) {
      const Reply::Object& object = answer.objects[i];
      if (object.value != nullptr) {
        WriteObject(objects[i - objects_from], object.id, *object.value);
      } else {
        WriteStoredObject(objects[i - objects_from], object.id, object.size, {}, object.source);
      }
    }
    if (reply != nullptr) out.setReplyTo(reply->request);
    if (last) {
      if (answer.get_failed) out.setGetFailed(*answer.get_failed);
      out.setReturnQueued(return_queued);
      if (answer.ready) WriteIdList<ObjectID>(out.initReady(answer.ready->size()), *answer.ready);
      if (answer.actor) {
        auto actor = out.initActor();
        if (!answer.actor->first.IsNil()) actor.setId(AsData(answer.actor->first.Binary()));
        actor.setType(answer.actor->second);
      }
    }
    stream_.Queue(message);
    if (last) break;
    functions_from = functions_to, tasks_from = tasks_to, objects_from = objects_to;
  }
}

}  // namespace ray::core
