#include "ray/node/scheduler.h"

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
#include "ray/node/scheduler_internal.h"
#include "ray/object/object_format.h"
#include "ray/object/status.h"

namespace ray::core {

using namespace scheduler_internal;  // NOLINT: the scheduler's own helpers

Scheduler::Scheduler(SchedulerOptions options, std::unique_ptr<store::StoreClient> store,
                     SpawnWorkerFunction spawn_worker)
    : options_(std::move(options)),
      store_(std::move(store)),
      spawn_worker_(std::move(spawn_worker)),
      liveness_(options_.worker_stall_timeout) {
  Node& self = nodes_.emplace_back(Node{.policy = {options_.num_cpus, options_.max_workers}});
  self.info.num_cpus = options_.num_cpus;
  self.info.resources = options_.resources;
  self.cpus_free = options_.num_cpus;
  self.custom_free = options_.resources;
  if (options_.record_task_graph) {
    graph_ = std::make_unique<TaskGraph>(options_.root_task, options_.max_recorded_tasks);
  }
}

std::optional<TaskGraph::Snapshot> Scheduler::GraphSnapshot() const {
  if (graph_ == nullptr) return std::nullopt;
  return graph_->Take();
}

Scheduler::~Scheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    poller_cv_.SignalAll();
  }
  if (thread_.joinable()) {
    Wake();
    thread_.join();
  }
  absl::MutexLock lock(&mu_);
  workers_.clear();  // closes the sockets: workers exit
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  for (const auto& process : node_processes_) close(process->pidfd);
}

absl::Status Scheduler::Start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    return absl::InternalError(absl::StrCat("epoll/eventfd: ", std::strerror(errno)));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wake-up descriptor
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event);
  for (const auto& [pid, what] : options_.node_processes) {
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
      return absl::InternalError(absl::StrCat("pidfd_open of ", what, ": ", std::strerror(errno)));
    }
    node_processes_.push_back(std::make_unique<NodeProcess>(NodeProcess{pidfd, pid, what}));
    event.data.ptr = node_processes_.back().get();
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, pidfd, &event);
  }
  {
    absl::MutexLock lock(&mu_);
    for (int i = 0; i < options_.num_workers; ++i) {
      if (absl::Status status = SpawnWorker(); !status.ok()) return status;
    }
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void Scheduler::Interrupt() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    objects_changed_.SignalAll();
    poller_cv_.SignalAll();
  }
  Wake();  // a driver thread may be polling the sockets
}

std::optional<std::string> Scheduler::NodeFailure() {
  if (!node_broken_.load(std::memory_order_acquire)) return std::nullopt;
  absl::MutexLock lock(&mu_);
  return node_failure_;
}

void Scheduler::NodeFailed(std::string why) {
  if (node_failure_) return;
  node_failure_ = std::move(why);
  node_broken_.store(true, std::memory_order_release);
  for (const TaskID& id : tasks_.Ids()) {
    TaskRecord* task = tasks_.Find(id);
    if (task == nullptr) continue;
    FailTask(*task, ErrorObject(NameOf(*task), ErrorTypeName(absl::StatusCode::kUnavailable),
                                *node_failure_, id));
  }
  tasks_.ClearReady();
  objects_changed_.SignalAll();
}

bool Scheduler::Interrupted() {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void Scheduler::Wake() {
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

double Scheduler::FreeCpus() {
  absl::MutexLock lock(&mu_);
  return std::clamp(nodes_[0].cpus_free, 0.0, options_.num_cpus);
}

void Scheduler::DefineFunction(uint64_t key, FunctionRecord function) {
  absl::MutexLock lock(&mu_);
  functions_.try_emplace(key, std::move(function));
}

void Scheduler::Submit(TaskRecord task) {
  absl::MutexLock lock(&mu_);
  SubmitLocked(std::move(task));
  Dispatch();
  FlushWorkers();
}

void Scheduler::SubmitLocked(TaskRecord submitted) {
  const TaskID id = submitted.id;
  auto [entry, inserted] = tasks_.Add(std::move(submitted));
  if (!inserted) return;  // a duplicate submission (a buggy worker): counts nothing
  TaskRecord& task = *entry;
  for (int i = 1; i <= task.num_returns; ++i) {
    objects_.Register(ObjectID::ForReturn(id, i));  // the submitter's reference
  }
  objects_.AddRefs(task.nested_refs);
  std::shared_ptr<const std::string> missing;
  if (task.args.size() > rpc::MAX_IDS_PER_LIST) {  // more than a message to a worker carries
    missing = ErrorObject(NameOf(task), ErrorTypeName(absl::StatusCode::kInvalidArgument),
                          absl::StrCat("a task takes at most ", rpc::MAX_IDS_PER_LIST,
                                       " arguments (", task.args.size(), " given)"),
                          id);
  }
  for (auto& arg : task.args) {
    if (arg.ref.IsNil()) continue;
    switch (objects_.AddUse(arg.ref, id)) {
      case ReferenceTable::Use::kMissing:
        missing = ErrorObject(NameOf(task), ErrorTypeName(absl::StatusCode::kNotFound),
                              "argument " + DoesNotExist(arg.ref), id);
        arg.ref = ObjectID();  // not counted as a use
        break;
      case ReferenceTable::Use::kPending:
        task.unresolved += 1;
        break;
      case ReferenceTable::Use::kReady:
        break;
    }
  }
  if (graph_ != nullptr) {
    absl::InlinedVector<ObjectID, 4> reads;
    for (const auto& arg : task.args) {
      if (!arg.ref.IsNil()) reads.push_back(arg.ref);
    }
    graph_->OnSubmit(id, task.parent, NameOf(task), reads, task.num_returns, absl::Now());
  }
  if (node_failure_) {
    missing = ErrorObject(NameOf(task), ErrorTypeName(absl::StatusCode::kUnavailable),
                          *node_failure_, id);
  }
  if (!missing && (task.creates_actor || !task.actor.IsNil())) missing = SubmitActorTask(task);
  if (missing) {
    FailTask(task, missing);
  } else if (task.unresolved == 0) {
    MakeReady(id);
  }
}

void Scheduler::MakeReady(const TaskID& id) {
  TaskRecord& task = tasks_.At(id);
  for (const auto& arg : task.args) {
    if (arg.ref.IsNil()) continue;
    const ReferenceTable::Entry* entry = objects_.Find(arg.ref);
    if (IsErrorValue(entry->value)) {
      FailTask(task, entry->value);  // the error of a dependency becomes this task's result
      return;
    }
  }
  if (MakeActorTaskReady(task)) return;
  tasks_.PushReady(id);
}

void Scheduler::FailTask(TaskRecord& task, std::shared_ptr<const std::string> error) {
  const TaskID id = task.id;
  if (task.creates_actor) {  // its actor never comes
    if (auto actor = actors_.find(ObjectID::ForReturn(id, 1)); actor != actors_.end()) {
      absl::StatusOr<TaskErrorInfo> cause = DeserializeError(AsBytes(*error));
      ActorDied(actor->second, absl::StrCat("its creation failed: ",
                                            cause.ok() ? cause->ToString() : "(unreadable error)"));
    }
  }
  if (graph_ != nullptr) graph_->OnFinish(id, /*failed=*/true, absl::Now());
  for (int i = 1; i <= task.num_returns; ++i) {
    ObjectReady(ObjectID::ForReturn(id, i), error, error->size());  // never touches `task`
  }
  EndTask(id);
}

void Scheduler::EndTask(const TaskID& id) {
  TaskRecord* task = tasks_.Find(id);
  if (task == nullptr) return;
  for (const auto& arg : task->args) {
    if (!arg.ref.IsNil()) objects_.ReleaseUse(arg.ref);  // the reference table has no tasks
  }
  std::vector<ObjectID> nested = std::move(task->nested_refs);
  tasks_.Erase(id);
  objects_.RemoveRefs(nested);
}

void Scheduler::AddObject(const ObjectID& id, std::shared_ptr<const std::string> value,
                          uint64_t size, std::vector<ObjectID> nested) {
  absl::MutexLock lock(&mu_);
  objects_.Register(id);  // the putter's reference
  if (graph_ != nullptr) graph_->OnPut(id, id.Task(), absl::Now());
  ObjectReady(id, std::move(value), size, std::move(nested));
  Dispatch();
  FlushWorkers();
}

void Scheduler::ExpectObject(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  objects_.Register(id);
}

void Scheduler::ObjectArrived(const ObjectID& id, std::shared_ptr<const std::string> value,
                              uint64_t size) {
  {
    absl::MutexLock lock(&mu_);
    ObjectReady(id, std::move(value), size, {});
    Dispatch();
    FlushWorkers();
  }
  Wake();  // a driver thread polling meanwhile looks again
}

void Scheduler::ObjectReady(const ObjectID& id, std::shared_ptr<const std::string> value,
                            uint64_t size, std::vector<ObjectID> nested, int node) {
  for (const TaskID& t : objects_.MarkReady(id, std::move(value), size, std::move(nested),
                                            static_cast<uint16_t>(node))) {
    TaskRecord* task = tasks_.Find(t);
    if (task != nullptr && --task->unresolved == 0) MakeReady(t);
  }
  objects_changed_.SignalAll();
}

void Scheduler::AddRef(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  objects_.AddRef(id);
}

void Scheduler::ApplyStoreDeletes() {
  std::vector<ObjectID> deletes;
  {
    absl::MutexLock lock(&mu_);
    deletes = objects_.TakeStoreDeletes();
  }
  if (!deletes.empty()) (void)store_->Delete(deletes);
}

void Scheduler::RemoveRef(const ObjectID& id) {
  {
    absl::MutexLock lock(&mu_);
    objects_.RemoveRef(id);
    if (objects_.HasFreedWatched()) {  // an actor's last handle
      DispatchActors();
      FlushWorkers();
    }
    if (!objects_.HasStoreDeletes()) return;
  }
  // At once rather than on the scheduler thread: a caller that frees references to make room
  // in a full store has the room when this returns.
  ApplyStoreDeletes();
}

const std::string& Scheduler::NameOf(const TaskRecord& task) const {
  static const std::string* const unknown = new std::string("?");
  if (!task.name.empty()) return task.name;
  auto fn = functions_.find(task.function_key);
  return fn == functions_.end() ? *unknown : fn->second.name;
}

void Scheduler::ReleaseResources(Worker& worker) {
  Node& node = nodes_[worker.node];
  if (worker.state != Worker::State::kBlocked) node.cpus_free += worker.cpus_held;
  worker.cpus_held = 0;
  for (const auto& [name, amount] : worker.resources_held) node.custom_free[name] += amount;
  worker.resources_held.clear();
}

void Scheduler::StartNextTask(Worker& worker) {
  ReleaseResources(worker);
  // A pooled worker's request was its task's (the task may not end in it: the scheduler copes);
  // an actor's may be another thread's (one its call started).
  if (worker.pooled()) worker.pending.clear();
  if (!worker.suspended.empty()) {  // a nested task ended: the one beneath it waits again
    Worker::Suspended beneath = std::move(worker.suspended.back());
    worker.suspended.pop_back();
    worker.pending.push_back(std::move(beneath.pending));
    worker.cpus_held = beneath.cpus_held;  // given back when its get is served
    worker.MoveTo(Worker::State::kBlocked);
    return;
  }
  if (worker.assigned.empty()) {
    worker.MoveTo(Worker::State::kIdle);
    worker.idle_since = absl::Now();
    return;
  }
  worker.MoveTo(Worker::State::kBusy);  // the next queued task starts now, on these CPUs
  TaskRecord* next = tasks_.Find(worker.assigned.front());
  Node& node = nodes_[worker.node];
  worker.cpus_held =
      next == nullptr ? 0 : PlacementPolicy::CpusOn(next->num_cpus, node.info.num_cpus);
  node.cpus_free -= worker.cpus_held;
  RecordStart(worker);
}

void Scheduler::TaskFinished(Worker& worker, const TaskID& id, bool failed) {
  if (!worker.actor.IsNil()) MarkActor(worker.actor);  // room in its pipeline, or its end
  if (worker.concurrency > 1) {
    ConcurrentCallFinished(worker, id);
    EndTask(id);
    return;
  }
  worker.assigned.pop_front();
  StartNextTask(worker);
  if (!worker.actor.IsNil()) {
    if (const TaskRecord* task = tasks_.Find(id)) ActorTaskFinished(worker, *task, failed);
  }
  EndTask(id);
}

std::optional<std::vector<std::shared_ptr<const std::string>>> Scheduler::WaitForObjects(
    std::span<const ObjectID> ids, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  ObjectWaiter waiter(objects_, ids, ids.size());
  if (!PollUntil([&] { return waiter.satisfied(); }, deadline)) return std::nullopt;
  std::vector<std::shared_ptr<const std::string>> values;
  for (const ObjectID& id : ids) {
    const ReferenceTable::Entry* entry = objects_.Find(id);
    values.push_back(entry != nullptr ? entry->value : MissingObjectError(id));
  }
  return values;
}

std::vector<bool> Scheduler::Wait(std::span<const ObjectID> ids, size_t num_returns,
                                  absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  num_returns = std::min(num_returns, ids.size());
  {
    ObjectWaiter waiter(objects_, ids, num_returns);
    PollUntil([&] { return waiter.satisfied(); }, deadline);
  }
  std::vector<bool> ready(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    ready[i] = objects_.ReadyOrGone(ids[i]);
  }
  return ready;
}

}  // namespace ray::core
