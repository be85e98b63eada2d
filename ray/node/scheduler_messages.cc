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
#include "ray/node/scheduler.h"
#include "ray/node/scheduler_internal.h"
#include "ray/object/object_format.h"
#include "ray/object/status.h"
#include "ray/rpc/inline_values.h"
#include "ray/rpc/worker_messages.h"

namespace ray::core {

using namespace scheduler_internal;  // NOLINT: the scheduler's own helpers

void Scheduler::FlushWorkers() {
  auto function = [&](uint64_t key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> const FunctionRecord& {
    return functions_.at(key);
  };
  auto task = [&](const TaskID& id)
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> const TaskRecord& { return tasks_.At(id); };
  auto inline_value = [&](const ObjectID& ref) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                          mu_) -> const std::string* { return objects_.InlineValue(ref); };
  int node = 0;  // of the worker being flushed
  auto source = [&](const ObjectID& ref) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> std::string_view {
    return in_cluster_ ? SourceFor(ref, node) : std::string_view();
  };
  const WorkerConnection::Tables tables{
      .function = function, .task = task, .inline_value = inline_value, .source = source};
  flushing_.swap(to_flush_);  // both keep their capacity: no allocation per flush
  for (int index : flushing_) {
    Worker& worker = *workers_[index];
    worker.to_flush = false;  // (a reused slot's new worker: its outbox is looked at anyway)
    if (worker.state == Worker::State::kDead || worker.broken) continue;
    node = worker.reader_node();
    WorkerConnection& connection = *worker.connection;
    if (!connection.outbox().empty()) {
      connection.QueueOutbox(tables);
    }
    if (!connection.stream().HasPendingWrites()) continue;
    if (!connection.stream().Flush().ok()) {
      worker.broken = true;
      Wake();
      continue;
    }
    bool want_writes = connection.stream().HasPendingWrites();
    if (want_writes) OutboxOf(worker);  // stays on the list until the socket took it all
    if (want_writes != connection.watching_writes) {
      epoll_event event{};
      event.events = EPOLLIN | (want_writes ? EPOLLOUT : 0);
      event.data.ptr = SocketTag(&worker);
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connection.stream().fd(), &event);
      connection.watching_writes = want_writes;
    }
  }
  flushing_.clear();
}

WorkerConnection::Outbox& Scheduler::OutboxOf(Worker& worker) {
  if (!worker.to_flush) {
    worker.to_flush = true;
    to_flush_.push_back(worker.index);
  }
  return worker.connection->outbox();
}

absl::Status Scheduler::FitArgumentsInline(const TaskRecord& task) {
  InlineBudget budget;
  for (const auto& arg : task.args) {
    if (arg.ref.IsNil()) budget.Take(arg.value.size());  // bounded by the submitter
  }
  for (const auto& arg : task.args) {
    if (arg.ref.IsNil()) continue;
    const std::string* value = objects_.InlineValue(arg.ref);
    if (value == nullptr || budget.Take(value->size())) continue;
    // Past the task's budget: the worker reads this one from the store.
    absl::StatusOr<store::MutableObject> copy = store_->Create(arg.ref, value->size());
    if (!copy.ok()) return copy.status();
    if (!value->empty()) std::memcpy(copy->data(), value->data(), value->size());
    if (absl::Status sealed = store_->Seal(*std::move(copy)); !sealed.ok()) return sealed;
    objects_.SetStoreCopy(arg.ref);
  }
  return absl::OkStatus();
}

namespace {

// The nested references an object or a task holds (nil ones name nothing: skipped).
std::vector<ObjectID> HeldRefs(const IdList<ObjectID>& refs) {
  std::vector<ObjectID> ids;
  ids.reserve(refs.size());
  for (ObjectID id : refs) {
    if (!id.IsNil()) ids.push_back(id);
  }
  return ids;
}

}  // namespace

absl::Status Scheduler::HandleMessage(Worker& worker, std::unique_ptr<ReceivedMessage> message) {
  absl::StatusOr<FromWorkerView> read = ReadFromWorker(message->Root<rpc::FromWorker>());
  if (!read.ok()) return read.status();
  const FromWorkerView& in = *read;
  worker.heard = absl::Now();
  if (in.pid != 0) worker.pid = in.pid;
  if (worker.node < 0 && in.client) {
    worker.client = true;
    workers_.Unpool(worker);
    worker.node = 0;  // holds nothing on any node
  } else if (worker.node < 0) {
    SetWorkerNode(worker, in.node_id);
    if (worker.state == Worker::State::kDead) return absl::OkStatus();
  }
  for (ObjectID id : in.copied) {
    // A copy of an object freed meanwhile is no one's: it goes at once.
    if (!objects_.AddCopy(id, static_cast<uint16_t>(worker.node))) {
      objects_.QueueRemoteDelete(static_cast<uint16_t>(worker.node), id);
    }
  }
  for (const FunctionDef& def : in.functions) functions_.try_emplace(def.key, def.record);
  // An object a worker made (put or returned).
  auto object_ready = [&](const ObjectView& object) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ObjectReady(object.id,
                object.in_store ? nullptr : std::make_shared<const std::string>(object.value),
                object.size, HeldRefs(object.nested_refs), worker.node);
  };
  for (const ObjectView& put : in.puts) {
    if (put.id.IsNil()) continue;
    if (worker.held.insert(put.id).second) objects_.Register(put.id);
    if (graph_ != nullptr) graph_->OnPut(put.id, put.id.Task(), absl::Now());
    object_ready(put);
  }
  for (const TaskView& submit : in.submits) {
    const TaskHeader& h = submit.header;
    if (h.id.IsNil() || !functions_.contains(h.function)) continue;  // not a task it may submit
    TaskRecord task;
    task.id = h.id;
    task.parent = h.parent;
    task.function_key = h.function;
    task.num_returns = std::max<int>(0, h.num_returns);
    task.num_cpus = std::max(0.0, h.num_cpus);
    task.resources = submit.resources;
    task.retries_left = h.max_retries;
    task.name = h.name;
    task.nested_refs = HeldRefs(submit.nested_refs);
    task.actor = h.actor;
    task.creates_actor = h.creates_actor;
    task.args.reserve(submit.args.size());
    for (const ArgView& arg : submit.args) {
      task.args.push_back({.ref = arg.ref, .value = std::string(arg.value)});
    }
    for (int i = 1; i <= task.num_returns; ++i) {
      worker.held.insert(ObjectID::ForReturn(task.id, i));
    }
    SubmitLocked(std::move(task));
  }
  for (ObjectID id : in.add_refs) {
    // An object that no longer exists stays gone (see AddRef).
    if (objects_.Contains(id) && worker.held.insert(id).second) objects_.AddRef(id);
  }
  for (const TaskDoneView& done : in.done) {
    const TaskID& id = done.task;
    if (worker.assigned.empty() ||
        (worker.assigned.front() != id && !(worker.concurrency > 1 && IsAssigned(worker, id)))) {
      continue;  // not its task (an actor's call threads end calls in any order)
    }
    bool failed = false;
    for (size_t r = 0; r < done.returns.size(); ++r) {
      const ObjectView ret = done.returns[r];
      if (r == 0) {
        failed = !ret.in_store &&
                 IsError({reinterpret_cast<const uint8_t*>(ret.value.data()), ret.value.size()});
      }
      if (ret.id.IsNil() || ret.id.Task() != id) continue;
      object_ready(ret);
    }
    if (graph_ != nullptr) {
      if (done.started_ns != 0 && done.finished_ns >= done.started_ns) {
        graph_->OnRan(id, worker.pid, absl::FromUnixNanos(done.started_ns),
                      absl::FromUnixNanos(done.finished_ns), failed,
                      static_cast<uint16_t>(worker.node));
      } else {
        graph_->OnFinish(id, failed, absl::Now());
      }
    }
    TaskFinished(worker, id, failed);
  }
  for (ObjectID id : in.kill_actors) KillFromWorker(id, /*no_restart=*/true);
  for (ObjectID id : in.restart_actors) KillFromWorker(id, /*no_restart=*/false);
  for (ObjectID id : in.exiting_actors) ActorExiting(id);
  if (in.lookup_actor) {
    std::string name(in.lookup_actor->name);
    auto found = LookupActorLocked(name);
    if (!found && foreign_.lookup) {
      foreign_.lookup(worker.index, in.lookup_actor->request, name);  // answered later
    } else {
      AnswerLookup(worker, in.lookup_actor->request, std::move(found));
    }
  }
  for (ObjectID id : in.remove_refs) {
    if (worker.held.erase(id) != 0) objects_.RemoveRef(id);
  }
  if (!in.handed_back.empty()) {
    worker.steal_pending = false;
    bool front_back = false;  // the worker had not started its front task either
    for (size_t i = in.handed_back.size(); i-- > 0;) {  // keep their order at the queue's front
      TaskID id = in.handed_back[i];
      auto pos = std::find(worker.assigned.begin(), worker.assigned.end(), id);
      if (pos == worker.assigned.end()) continue;
      front_back |= pos == worker.assigned.begin();
      worker.assigned.erase(pos);
      if (TaskRecord* t = tasks_.Find(id)) t->worker = -1;
      tasks_.ReturnReady(id);
    }
    if (front_back && worker.state == Worker::State::kBusy) StartNextTask(worker);
  }
  if (in.get || in.wait) return AddRequest(worker, in);
  return absl::OkStatus();
}

}  // namespace ray::core
