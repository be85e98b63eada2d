#include "ray/node/worker_connection.h"

#include <capnp/message.h>

#include "ray/common/capnp_bytes.h"
#include "ray/rpc/worker.capnp.h"

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
  const Outbox& box = outbox_;
  size_t functions_from = 0, tasks_from = 0, objects_from = 0;
  while (true) {
    size_t budget = rpc::BATCH_BYTES;
    size_t functions_to = TakeWithin(functions_from, box.functions.size(), budget, [&](size_t i) {
      const FunctionRecord& f = tables.function(box.functions[i]);
      return kItemOverhead + f.invoker.size() + f.function.size() + f.name.size();
    });
    size_t tasks_to = TakeWithin(tasks_from, box.tasks.size(), budget, [&](size_t i) {
      return MessageBytes(tables.task(box.tasks[i]), tables);
    });
    size_t objects_to = TakeWithin(objects_from, box.objects.size(), budget, [&](size_t i) {
      const auto& value = box.objects[i].value;
      return kItemOverhead + (value != nullptr ? value->size() : 0);
    });
    const bool last = functions_to == box.functions.size() && tasks_to == box.tasks.size() &&
                      objects_to == box.objects.size();

    capnp::MallocMessageBuilder message;
    auto out = message.initRoot<rpc::ToWorker>();
    auto functions = out.initFunctions(functions_to - functions_from);
    for (size_t i = functions_from; i < functions_to; ++i) {
      const FunctionRecord& f = tables.function(box.functions[i]);
      auto def = functions[i - functions_from];
      def.setKey(box.functions[i]);
      def.setInvoker(AsData(f.invoker));
      def.setFunction(AsData(f.function));
      def.setName(f.name);
    }
    auto tasks = out.initTasks(tasks_to - tasks_from);
    for (size_t i = tasks_from; i < tasks_to; ++i) {
      const TaskRecord& task = tables.task(box.tasks[i]);
      auto t = tasks[i - tasks_from];
      t.setTaskId(AsData(task.id.Binary()));
      t.setParentTaskId(AsData(task.parent.Binary()));
      t.setFunction(task.function_key);
      t.setNumReturns(task.num_returns);
      t.setNumCpus(task.num_cpus);
      t.setMaxRetries(task.retries_left);
      if (!task.name.empty()) t.setName(task.name);
      if (task.run_while_blocked) t.setRunWhileBlocked(true);
      auto args = t.initArgs(task.args.size());
      for (size_t a = 0; a < task.args.size(); ++a) {
        const auto& arg = task.args[a];
        if (arg.ref.IsNil()) {
          args[a].setValue(AsData(arg.value));
        } else if (const std::string* value = tables.inline_value(arg.ref); value != nullptr) {
          args[a].setValue(AsData(*value));
        } else {
          args[a].setRef(AsData(arg.ref.Binary()));
        }
      }
    }
    auto objects = out.initObjects(objects_to - objects_from);
    for (size_t i = objects_from; i < objects_to; ++i) {
      auto object = objects[i - objects_from];
      object.setId(AsData(box.objects[i].id.Binary()));
      if (box.objects[i].value != nullptr) {
        object.setValue(AsData(*box.objects[i].value));
      } else {
        object.setInStore(box.objects[i].size);
      }
    }
    if (last) {
      if (box.get_failed) out.setGetFailed(*box.get_failed);
      out.setReturnQueued(box.return_queued);
      if (box.ready) {
        auto ready = out.initReady(box.ready->size());
        for (size_t i = 0; i < box.ready->size(); ++i) {
          ready.set(i, AsData((*box.ready)[i].Binary()));
        }
      }
    }
    stream_.Queue(message);
    if (last) break;
    functions_from = functions_to, tasks_from = tasks_to, objects_from = objects_to;
  }
  outbox_ = Outbox();
}

}  // namespace ray::core
