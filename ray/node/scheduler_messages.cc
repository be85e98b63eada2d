#include <capnp/message.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "ray/common/capnp_bytes.h"
#include "ray/common/capnp_ids.h"
#include "ray/node/scheduler.h"
#include "ray/node/scheduler_internal.h"
#include "ray/object/status.h"
#include "ray/object/object_format.h"
#include "ray/rpc/inline_values.h"

namespace ray::core {

using namespace scheduler_internal;  // NOLINT: the scheduler's own helpers

void Scheduler::FlushWorkers() {
  auto function = [&](uint64_t key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> const FunctionRecord& {
    return functions_.at(key);
  };
  auto task = [&](const TaskID& id)
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> const TaskRecord& { return tasks_.At(id); };
  auto inline_value = [&](const ObjectID& ref)
                          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> const std::string* {
    const ReferenceTable::Entry* entry = objects_.Find(ref);
    return entry->value != nullptr && !entry->store_copy ? entry->value.get() : nullptr;
  };
  const WorkerConnection::Tables tables{
      .function = function, .task = task, .inline_value = inline_value};
  for (auto& w : workers_) {
    Worker& worker = *w;
    if (worker.state == Worker::State::kDead || worker.broken) continue;
    WorkerConnection& connection = *worker.connection;
    if (!connection.outbox().empty()) {
      for (const TaskID& id : connection.outbox().tasks) FitArgumentsInline(tasks_.At(id));
      connection.QueueOutbox(tables);
    }
    if (!connection.stream().HasPendingWrites()) continue;
    if (!connection.stream().Flush().ok()) {
      worker.broken = true;
      Wake();
      continue;
    }
    bool want_writes = connection.stream().HasPendingWrites();
    if (want_writes != connection.watching_writes) {
      epoll_event event{};
      event.events = EPOLLIN | (want_writes ? EPOLLOUT : 0);
      event.data.ptr = SocketTag(&worker);
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connection.stream().fd(), &event);
      connection.watching_writes = want_writes;
    }
  }
}

void Scheduler::FitArgumentsInline(const TaskRecord& task) {
  InlineBudget budget;
  for (const auto& arg : task.args) {
    if (arg.ref.IsNil()) budget.Take(arg.value.size());  // bounded by the submitter
  }
  for (const auto& arg : task.args) {
    if (arg.ref.IsNil()) continue;
    const ReferenceTable::Entry& entry = *objects_.Find(arg.ref);
    if (entry.value == nullptr || entry.store_copy || budget.Take(entry.value->size())) continue;
    // Past the task's budget: the worker reads this one from the store.
    (void)store_->Put(arg.ref,
                      {reinterpret_cast<const uint8_t*>(entry.value->data()), entry.value->size()});
    objects_.SetStoreCopy(arg.ref);
  }
}

void Scheduler::HandleMessage(Worker& worker, std::unique_ptr<ReceivedMessage> message) {
  auto in = message->Root<rpc::FromWorker>();
  worker.heard = absl::Now();
  if (in.getPid() != 0) worker.pid = in.getPid();
  for (auto def : in.getFunctions()) {
    functions_.try_emplace(def.getKey(), FunctionRecord{std::string(AsView(def.getInvoker())),
                                                        std::string(AsView(def.getFunction())),
                                                        std::string(def.getName().cStr())});
  }
  // An object a worker made (put or returned).
  auto object_ready = [&](rpc::Object::Reader object,
                          const ObjectID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<ObjectID> nested = ReadIds(object.getNestedRefs());
    if (object.isValue()) {
      ObjectReady(id, std::make_shared<const std::string>(AsView(object.getValue())),
                  object.getValue().size(), std::move(nested));
    } else {
      ObjectReady(id, nullptr, object.getInStore(), std::move(nested));
    }
  };
  for (auto put : in.getPuts()) {
    ObjectID id = ObjectID::FromBinaryOrNil(AsView(put.getId()));
    if (id.IsNil()) continue;
    if (worker.held.insert(id).second) objects_.Register(id);
    if (graph_ != nullptr) graph_->OnPut(id, id.Task(), absl::Now());
    object_ready(put, id);
  }
  for (auto submit : in.getSubmits()) {
    TaskRecord task;
    task.id = TaskID::FromBinary(AsView(submit.getTaskId()));
    task.parent = TaskID::FromBinary(AsView(submit.getParentTaskId()));
    task.function_key = submit.getFunction();
    task.num_returns = std::max<int>(0, submit.getNumReturns());
    task.num_cpus = std::max(0.0, submit.getNumCpus());
    task.retries_left = submit.getMaxRetries();
    task.name = submit.getName();
    task.nested_refs = ReadIds(submit.getNestedRefs());
    for (auto arg : submit.getArgs()) {
      TaskRecord::Arg a;
      if (arg.isRef()) {
        a.ref = ObjectID::FromBinaryOrNil(AsView(arg.getRef()));
      } else {
        a.value = AsView(arg.getValue());
      }
      task.args.push_back(std::move(a));
    }
    if (task.id.IsNil() || !functions_.contains(task.function_key)) continue;  // malformed
    for (int i = 1; i <= task.num_returns; ++i) {
      worker.held.insert(ObjectID::ForReturn(task.id, i));
    }
    SubmitLocked(std::move(task));
  }
  for (auto raw : in.getAddRefs()) {
    ObjectID id = ObjectID::FromBinaryOrNil(AsView(raw));
    // An object that no longer exists stays gone (see AddRef).
    if (objects_.Contains(id) && worker.held.insert(id).second) objects_.AddRef(id);
  }
  for (auto done : in.getDone()) {
    TaskID id = TaskID::FromBinary(AsView(done.getTaskId()));
    if (worker.assigned.empty() || worker.assigned.front() != id) continue;  // not its task
    for (auto ret : done.getReturns()) {
      ObjectID oid = ObjectID::FromBinaryOrNil(AsView(ret.getId()));
      if (oid.IsNil() || oid.Task() != id) continue;
      object_ready(ret, oid);
    }
    bool failed = done.getReturns().size() > 0 && done.getReturns()[0].isValue() &&
                  IsError(AsSpan(done.getReturns()[0].getValue()));
    if (graph_ != nullptr) {
      if (done.getStartedNs() != 0 && done.getFinishedNs() >= done.getStartedNs()) {
        graph_->OnRan(id, worker.pid, absl::FromUnixNanos(done.getStartedNs()),
                      absl::FromUnixNanos(done.getFinishedNs()), failed);
      } else {
        graph_->OnFinish(id, failed, absl::Now());
      }
    }
    TaskFinished(worker, id);
  }
  for (auto raw : in.getRemoveRefs()) {
    ObjectID id = ObjectID::FromBinaryOrNil(AsView(raw));
    if (worker.held.erase(id) != 0) objects_.RemoveRef(id);
  }
  if (in.getHandedBack().size() > 0) {
    worker.steal_pending = false;
    auto back = in.getHandedBack();
    bool front_back = false;                  // the worker had not started its front task either
    for (size_t i = back.size(); i-- > 0;) {  // keep their order at the queue's front
      TaskID id = TaskID::FromBinary(AsView(back[i]));
      auto pos = std::find(worker.assigned.begin(), worker.assigned.end(), id);
      if (pos == worker.assigned.end()) continue;
      front_back |= pos == worker.assigned.begin();
      worker.assigned.erase(pos);
      if (TaskRecord* t = tasks_.Find(id)) t->worker = -1;
      tasks_.ReturnReady(id);
    }
    if (front_back && worker.state == Worker::State::kBusy) StartNextTask(worker);
  }
  if (in.hasGet() || in.hasWait()) {
    Worker::Pending pending;
    bool is_wait = in.hasWait();
    auto ids = is_wait ? in.getWait().getIds() : in.getGet().getIds();
    int64_t timeout_ms = is_wait ? in.getWait().getTimeoutMs() : in.getGet().getTimeoutMs();
    for (auto raw : ids) pending.ids.push_back(ObjectID::FromBinaryOrNil(AsView(raw)));
    if (timeout_ms >= 0) pending.deadline = absl::Now() + absl::Milliseconds(timeout_ms);
    pending.is_wait = is_wait;
    if (is_wait) pending.num_returns = in.getWait().getNumReturns();
    pending.waiter = std::make_unique<ObjectWaiter>(
        objects_, pending.ids,
        is_wait ? std::min<size_t>(pending.num_returns, pending.ids.size()) : pending.ids.size());
    worker.pending = std::move(pending);
    if (worker.state == Worker::State::kBusy) {
      worker.MoveTo(Worker::State::kBlocked);  // its CPUs go back to the pool meanwhile
      cpus_free_ += worker.cpus_held;
    }
  }
}

}  // namespace ray::core
