#include "ray/core/scheduler.h"

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
#include "ray/core/capnp_bytes.h"
#include "ray/core/capnp_ids.h"
#include "ray/core/errors.h"
#include "ray/core/serialization.h"

namespace ray::core {
namespace {

bool IsErrorValue(const std::shared_ptr<const std::string>& value) {
  return value != nullptr &&
         IsError({reinterpret_cast<const uint8_t*>(value->data()), value->size()});
}

std::shared_ptr<const std::string> ErrorObject(const std::string& function_name,
                                               const std::string& type, const std::string& message,
                                               const TaskID& task) {
  TaskErrorInfo info;
  info.function_name = function_name;
  info.exception_type = type;
  info.message = message;
  info.task_id = task.Hex();
  info.pid = getpid();
  return std::make_shared<const std::string>(SerializeError(info));
}

std::string DoesNotExist(const ObjectID& id) {
  return absl::StrCat("object ", id.Hex(), " does not exist (it was freed or never created)");
}

// The value a get of an object that does not exist returns.
std::shared_ptr<const std::string> MissingObjectError(const ObjectID& id) {
  return ErrorObject("ray.get", "ray::RayError", DoesNotExist(id), TaskID());
}

}  // namespace

// A get or a wait on objects that do not all exist yet. It registers with each object that is
// not ready and is counted down as they become ready, so that whether it is satisfied is an
// O(1) question however many objects it waits for (a driver's get of a million results is
// asked once per batch of replies). Lives under the scheduler's mutex; unregisters when it
// ends. An object that does not exist (freed, or never made) counts as ready: a get of it
// fails at once with "does not exist".
class Scheduler::ObjectWaiter {
 public:
  // Satisfied once `wanted` of `ids` (occurrences, for a list with duplicates) are ready.
  ObjectWaiter(ObjectTable& objects, std::span<const ObjectID> ids, size_t wanted)
      : objects_(objects) {
    size_t ready = 0;
    for (const ObjectID& id : ids) {
      auto it = objects.find(id);
      if (it == objects.end() || it->second.ready) {
        ++ready;
      } else {
        it->second.waiters.push_back(this);
        registered_.push_back(id);
      }
    }
    remaining_ = ready >= wanted ? 0 : wanted - ready;
  }
  ~ObjectWaiter() {
    for (const ObjectID& id : registered_) {
      if (auto it = objects_.find(id); it != objects_.end()) std::erase(it->second.waiters, this);
    }
  }
  ObjectWaiter(const ObjectWaiter&) = delete;
  ObjectWaiter& operator=(const ObjectWaiter&) = delete;

  bool satisfied() const { return remaining_ == 0; }
  // One of its objects became ready (ObjectReady has taken this waiter off the object).
  void OneReady() {
    if (remaining_ > 0) --remaining_;
  }

 private:
  ObjectTable& objects_;
  std::vector<ObjectID> registered_;
  size_t remaining_ = 0;
};

struct Scheduler::Worker {
  enum class State { kIdle, kBusy, kBlocked, kDead };
  int index = 0;
  pid_t pid = 0;
  std::unique_ptr<MessageStream> stream;
  State state = State::kIdle;
  std::deque<TaskID> assigned;  // sent and not done; the front one is running
  double cpus_held = 0;
  absl::flat_hash_set<uint64_t> functions_sent;
  absl::flat_hash_set<ObjectID> held;   // objects this process holds a reference to
  bool broken = false;                  // a write failed: the scheduler thread retires it
  bool steal_pending = false;           // asked to hand back its queued tasks
  absl::Time front_started;             // when its front task started
  absl::Time idle_since = absl::Now();  // when it last became idle
  bool watching_writes = false;

  // A Get or Wait the worker is blocked in.
  struct Pending {
    std::vector<ObjectID> ids;
    absl::Time deadline = absl::InfiniteFuture();
    bool is_wait = false;
    size_t num_returns = 0;
    std::unique_ptr<ObjectWaiter> waiter;  // counts `ids` down
  };
  std::optional<Pending> pending;
  // Tasks blocked beneath the running one, innermost last: when no other worker can take a
  // ready task (max_workers), a worker blocked in a get runs it inside its wait (see
  // RunWhileBlocked); the blocked task's get and CPUs wait here meanwhile.
  struct Suspended {
    Pending pending;
    double cpus_held = 0;
  };
  std::vector<Suspended> suspended;

  // `assigned` holds the running task, the tasks suspended beneath it, then the queued ones.
  size_t active() const { return assigned.empty() ? 0 : 1 + suspended.size(); }
  size_t queued() const { return assigned.size() - active(); }
  // The running tasks and the queued ones (those a pipeline depth counts).
  size_t load() const { return assigned.size() - suspended.size(); }
  // Blocked in a get that may wait beneath a nested task (see RunWhileBlocked).
  bool CanSuspendItsGet() const;

  // What goes out in the next message.
  struct Outbox {
    std::vector<uint64_t> functions;
    std::vector<TaskID> tasks;
    struct Object {
      ObjectID id;
      std::shared_ptr<const std::string> value;
      uint64_t size;
    };
    std::vector<Object> objects;
    std::optional<std::string> get_failed;
    std::optional<std::vector<ObjectID>> ready;
    bool return_queued = false;
    bool empty() const {
      return functions.empty() && tasks.empty() && objects.empty() && !get_failed && !ready &&
             !return_queued;
    }
  } outbox;
};

Scheduler::Scheduler(SchedulerOptions options, std::unique_ptr<store::StoreClient> store,
                     std::function<absl::StatusOr<pid_t>(int fd)> spawn_worker)
    : options_(std::move(options)),
      store_(std::move(store)),
      spawn_worker_(std::move(spawn_worker)),
      cpus_free_(options_.num_cpus) {
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
  std::vector<TaskID> unfinished;
  for (const auto& [id, task] : tasks_) unfinished.push_back(id);
  for (const TaskID& id : unfinished) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) continue;
    FailTask(it->second, ErrorObject(NameOf(it->second), "ray::RayError", *node_failure_, id));
  }
  ready_.clear();
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

absl::Status Scheduler::SpawnWorker() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", std::strerror(errno)));
  }
  absl::StatusOr<pid_t> pid = spawn_worker_(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    return pid.status();
  }
  auto worker = std::make_unique<Worker>();
  worker->pid = *pid;
  worker->stream = std::make_unique<MessageStream>(fds[0]);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = worker.get();
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fds[0], &event);
  // A dead worker's slot is reused, so that retired and crashed workers do not pile up. Its
  // record is no longer referred to: no task is assigned to it, its socket is out of the epoll
  // set, and whoever calls this rescans the workers afterwards.
  auto dead = std::find_if(workers_.begin(), workers_.end(),
                           [](const auto& w) { return w->state == Worker::State::kDead; });
  worker->index = dead - workers_.begin();
  if (dead != workers_.end()) {
    *dead = std::move(worker);
  } else {
    workers_.push_back(std::move(worker));
  }
  return absl::OkStatus();
}

std::vector<pid_t> Scheduler::WorkerPids() {
  absl::MutexLock lock(&mu_);
  std::vector<pid_t> pids;
  for (auto& w : workers_) {
    if (w->state != Worker::State::kDead && w->pid > 0) pids.push_back(w->pid);
  }
  return pids;
}

double Scheduler::FreeCpus() {
  absl::MutexLock lock(&mu_);
  return std::clamp(cpus_free_, 0.0, options_.num_cpus);
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
  auto [entry, inserted] = tasks_.try_emplace(id, std::move(submitted));
  if (!inserted) return;  // a duplicate submission (a buggy worker): counts nothing
  TaskRecord& task = entry->second;
  for (int i = 1; i <= task.num_returns; ++i) {
    objects_[ObjectID::ForReturn(id, i)].refs += 1;  // the submitter's reference
  }
  HoldNested(task.nested_refs);
  std::shared_ptr<const std::string> missing;
  for (auto& arg : task.args) {
    if (arg.ref.IsNil()) continue;
    auto it = objects_.find(arg.ref);
    if (it == objects_.end()) {
      missing = ErrorObject(NameOf(task), "ray::RayError", "argument " + DoesNotExist(arg.ref), id);
      arg.ref = ObjectID();  // not counted as a use
      continue;
    }
    it->second.uses += 1;
    if (!it->second.ready) {
      it->second.dependents.push_back(id);
      task.unresolved += 1;
    }
  }
  if (graph_ != nullptr) {
    absl::InlinedVector<ObjectID, 4> reads;
    for (const auto& arg : task.args) {
      if (!arg.ref.IsNil()) reads.push_back(arg.ref);
    }
    graph_->OnSubmit(id, task.parent, NameOf(task), reads, task.num_returns, absl::Now());
  }
  if (node_failure_) missing = ErrorObject(NameOf(task), "ray::RayError", *node_failure_, id);
  if (missing) {
    FailTask(task, missing);
  } else if (task.unresolved == 0) {
    MakeReady(id);
  }
}

void Scheduler::MakeReady(const TaskID& id) {
  TaskRecord& task = tasks_.at(id);
  for (const auto& arg : task.args) {
    if (arg.ref.IsNil()) continue;
    const ObjectEntry& entry = objects_.at(arg.ref);
    if (IsErrorValue(entry.value)) {
      FailTask(task, entry.value);  // the error of a dependency becomes this task's result
      return;
    }
  }
  ready_.push_back(id);
}

void Scheduler::FailTask(TaskRecord& task, std::shared_ptr<const std::string> error) {
  TaskID id = task.id;
  std::vector<ObjectID> args;
  for (const auto& arg : task.args) {
    if (!arg.ref.IsNil()) args.push_back(arg.ref);
  }
  int num_returns = task.num_returns;
  std::vector<ObjectID> nested = std::move(task.nested_refs);
  tasks_.erase(id);
  if (graph_ != nullptr) graph_->OnFinish(id, /*failed=*/true, absl::Now());
  for (int i = 1; i <= num_returns; ++i) {
    ObjectReady(ObjectID::ForReturn(id, i), error, error->size());
  }
  for (const ObjectID& arg : args) ReleaseUse(arg);
  ReleaseRefs(nested);
}

void Scheduler::AddObject(const ObjectID& id, std::shared_ptr<const std::string> value,
                          uint64_t size, std::vector<ObjectID> nested) {
  absl::MutexLock lock(&mu_);
  objects_[id].refs += 1;  // the putter's reference
  if (graph_ != nullptr) graph_->OnPut(id, id.Task(), absl::Now());
  ObjectReady(id, std::move(value), size, std::move(nested));
  Dispatch();
  FlushWorkers();
}

void Scheduler::ObjectReady(const ObjectID& id, std::shared_ptr<const std::string> value,
                            uint64_t size, std::vector<ObjectID> nested) {
  if (!nested.empty()) {
    if (auto it = objects_.find(id); it != objects_.end() && it->second.ready) {
      return;  // e.g. a retried task made it again: its references are held already
    }
    HoldNested(nested);  // before `entry`: it touches objects_ (never this entry)
  }
  ObjectEntry& entry = objects_[id];
  if (entry.ready) return;  // e.g. a retried task made it again
  entry.ready = true;
  entry.value = std::move(value);
  entry.size = size;
  entry.nested = std::move(nested);
  for (ObjectWaiter* waiter : entry.waiters) waiter->OneReady();
  entry.waiters.clear();
  std::vector<TaskID> dependents = std::move(entry.dependents);
  entry.dependents.clear();
  for (const TaskID& t : dependents) {
    auto it = tasks_.find(t);
    if (it != tasks_.end() && --it->second.unresolved == 0) MakeReady(t);
  }
  objects_changed_.SignalAll();
  MaybeFree(id);
}

void Scheduler::AddRef(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  if (auto it = objects_.find(id); it != objects_.end()) it->second.refs += 1;
}

void Scheduler::HoldNested(std::vector<ObjectID>& ids) {
  std::erase_if(ids, [&](const ObjectID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = objects_.find(id);
    if (it == objects_.end()) return true;
    it->second.refs += 1;
    return false;
  });
}

void Scheduler::ReleaseRefs(std::span<const ObjectID> ids) {
  for (const ObjectID& id : ids) {
    auto it = objects_.find(id);
    if (it == objects_.end()) continue;
    it->second.refs -= 1;
    MaybeFree(id);
  }
}

void Scheduler::RemoveRef(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  it->second.refs -= 1;
  MaybeFree(id);
  if (!store_deletes_.empty()) Wake();
}

void Scheduler::ReleaseUse(const ObjectID& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  it->second.uses -= 1;
  MaybeFree(id);
}

void Scheduler::MaybeFree(const ObjectID& id) {
  // Freeing an object releases the objects it references, which may free them in turn: a
  // work list rather than recursion, as chains of references can be long. (It allocates only
  // when the object holds references.)
  std::vector<ObjectID> released;
  auto free_if_unused = [&](ObjectTable::iterator it) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ObjectEntry& entry = it->second;
    if (!entry.ready || entry.refs > 0 || entry.uses > 0 || !entry.dependents.empty()) {
      return;
    }
    if (entry.value == nullptr) store_deletes_.push_back(it->first);
    for (const ObjectID& n : entry.nested) released.push_back(n);
    objects_.erase(it);
  };
  if (auto it = objects_.find(id); it != objects_.end()) free_if_unused(it);
  while (!released.empty()) {
    auto it = objects_.find(released.back());
    released.pop_back();
    if (it == objects_.end()) continue;
    it->second.refs -= 1;
    free_if_unused(it);
  }
}

const std::string& Scheduler::NameOf(const TaskRecord& task) const {
  static const std::string* const unknown = new std::string("?");
  if (!task.name.empty()) return task.name;
  auto fn = functions_.find(task.function_key);
  return fn == functions_.end() ? *unknown : fn->second.name;
}

void Scheduler::Dispatch() {
  while (!ready_.empty()) {
    auto it = tasks_.find(ready_.front());
    if (it == tasks_.end()) {
      ready_.pop_front();
      continue;
    }
    TaskRecord& task = it->second;
    // A task that needs more CPUs than the node has runs when all of them are free.
    double need = std::min(task.num_cpus, options_.num_cpus);
    Worker* idle = nullptr;
    Worker* least_loaded = nullptr;  // a running worker with room in its queue
    int alive = 0, running = 0;
    for (auto& w : workers_) {
      if (w->state == Worker::State::kDead || w->broken) continue;
      ++alive;
      running += w->state == Worker::State::kBusy;
      if (w->state == Worker::State::kIdle) {
        if (idle == nullptr) idle = w.get();
      } else if (w->state == Worker::State::kBusy && !w->steal_pending &&
                 w->load() < kPipelineDepth &&
                 (least_loaded == nullptr || w->load() < least_loaded->load())) {
        least_loaded = w.get();
      }
    }
    if (need <= cpus_free_ + 1e-9) {
      if (idle == nullptr && alive < options_.max_workers && SpawnWorker().ok()) continue;
      if (idle != nullptr) {
        ready_.pop_front();
        idle->state = Worker::State::kBusy;
        idle->cpus_held = need;
        cpus_free_ -= need;
        Assign(*idle, task);
        continue;
      }
      // No worker is free and no more may start, but CPUs are: tasks that hold workers wait
      // in gets. A worker waiting for this task's results runs it inside its wait, as a call
      // (else recursive programs would deadlock at max_workers). Otherwise it queues behind a
      // running task (below), whose worker takes it back into its wait if that task then
      // waits for it; and if no worker runs, NestWhileAllBlocked picks one to run.
      if (Worker* waiter = BlockedWorkerFor(task.id, /*or_any=*/false); waiter != nullptr) {
        ready_.pop_front();
        RunWhileBlocked(*waiter, task, need);
        continue;
      }
      if (running == 0 && NestWhileAllBlocked()) continue;
      if (running == 0 && NoWorkerCanMove()) {  // this task would wait forever: say so
        ready_.pop_front();
        FailTask(task, ErrorObject(NameOf(task), "ray::RayError",
                                   absl::StrCat("cannot run: all ", alive,
                                                " workers (max_workers) wait in gets, each with ",
                                                kMaxNesting,
                                                " tasks nested in it (the limit); the program "
                                                "recurses too deep for this node"),
                                   task.id));
        ServeBlockedWorkers(/*expire=*/false);  // the worker waiting for it gets the error
        continue;
      }
    }
    // No CPU (or worker) free: queue the task behind a running one. It starts when that one
    // ends, taking over its CPUs, which saves the round trip per task; an idle worker later
    // takes queued tasks back (see below).
    if (least_loaded == nullptr) break;
    ready_.pop_front();
    Assign(*least_loaded, task);
  }
  // An idle worker and nothing ready: ask the most loaded worker whose running task has taken
  // a while for the tasks queued behind it. (Short tasks are left alone: their queues drain
  // by themselves, and asking would cost more than it saves.)
  bool has_idle = false;
  Worker* most_loaded = nullptr;
  absl::Time now = absl::Now();
  for (auto& w : workers_) {
    if (w->state == Worker::State::kDead || w->broken) continue;
    if (w->state == Worker::State::kIdle) has_idle = true;
    if (w->queued() > 0 && !w->steal_pending && now - w->front_started >= kStealAfter &&
        (most_loaded == nullptr || w->queued() > most_loaded->queued())) {
      most_loaded = w.get();
    }
  }
  if (has_idle && ready_.empty() && most_loaded != nullptr && cpus_free_ > 1e-9) {
    most_loaded->steal_pending = true;
    most_loaded->outbox.return_queued = true;
  }
}

bool Scheduler::Worker::CanSuspendItsGet() const {
  // A suspended request is not looked at: not one with a deadline, nor a wait (which may have
  // its answer long before a nested task ends).
  return state == State::kBlocked && !broken && pending && !pending->is_wait &&
         pending->deadline == absl::InfiniteFuture();
}

Scheduler::Worker* Scheduler::BlockedWorkerFor(const TaskID& task, bool or_any) {
  Worker* best = nullptr;
  bool best_waits_for_it = false;
  for (auto& w : workers_) {
    if (!w->CanSuspendItsGet() || w->suspended.size() >= kMaxNesting) continue;
    bool waits_for_it = std::any_of(w->pending->ids.begin(), w->pending->ids.end(),
                                    [&](const ObjectID& id) { return id.Task() == task; });
    if (best == nullptr || waits_for_it > best_waits_for_it ||
        (waits_for_it == best_waits_for_it && w->suspended.size() < best->suspended.size())) {
      best = w.get();
      best_waits_for_it = waits_for_it;
    }
  }
  return best_waits_for_it || or_any ? best : nullptr;
}

bool Scheduler::NoWorkerCanMove() {
  for (auto& w : workers_) {
    if (w->state == Worker::State::kDead || w->broken) continue;
    // A worker running, or in a wait or a get with a deadline, moves by itself; one that could
    // still take a nested task is not stuck either.
    if (!w->CanSuspendItsGet() || w->suspended.size() < kMaxNesting) return false;
  }
  return true;
}

bool Scheduler::NestWhileAllBlocked() {
  auto nest = [&](std::deque<TaskID>::iterator at, Worker& worker)
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
                    TaskRecord& task = tasks_.at(*at);
                    ready_.erase(at);
                    RunWhileBlocked(worker, task, std::min(task.num_cpus, options_.num_cpus));
                  };
  auto fits = [&](const TaskID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = tasks_.find(id);
    return it != tasks_.end() &&
           std::min(it->second.num_cpus, options_.num_cpus) <= cpus_free_ + 1e-9;
  };
  // A ready task that a worker waits for, anywhere in the queue.
  for (auto it = ready_.begin(); it != ready_.end(); ++it) {
    if (!fits(*it)) continue;
    if (Worker* waiter = BlockedWorkerFor(*it, /*or_any=*/false); waiter != nullptr) {
      nest(it, *waiter);
      return true;
    }
  }
  // None is waited for: the newest, so that the program's calls unfold depth first.
  for (auto it = ready_.end(); it != ready_.begin();) {
    --it;
    if (!fits(*it)) continue;
    Worker* worker = BlockedWorkerFor(*it, /*or_any=*/true);
    if (worker == nullptr) return false;
    nest(it, *worker);
    return true;
  }
  return false;
}

void Scheduler::RunWhileBlocked(Worker& worker, TaskRecord& task, double cpus) {
  worker.suspended.push_back({*std::move(worker.pending), worker.cpus_held});
  worker.pending.reset();
  worker.state = Worker::State::kBusy;
  worker.cpus_held = cpus;
  cpus_free_ -= cpus;
  task.worker = worker.index;
  task.run_while_blocked = true;
  worker.assigned.push_front(task.id);  // the front one runs
  RecordStart(worker);
  SendTask(worker, task);
}

void Scheduler::Assign(Worker& worker, TaskRecord& task) {
  task.worker = worker.index;
  worker.assigned.push_back(task.id);
  if (worker.assigned.size() == 1) RecordStart(worker);
  SendTask(worker, task);
}

void Scheduler::RecordStart(Worker& worker) {
  worker.front_started = absl::Now();
  if (graph_ != nullptr && !worker.assigned.empty()) {
    graph_->OnStart(worker.assigned.front(), worker.pid, absl::Now());
  }
}

void Scheduler::SendTask(Worker& worker, TaskRecord& task) {
  if (worker.functions_sent.insert(task.function_key).second) {
    worker.outbox.functions.push_back(task.function_key);
  }
  worker.outbox.tasks.push_back(task.id);
}

void Scheduler::FlushWorkers() {
  for (auto& w : workers_) {
    Worker& worker = *w;
    if (worker.state == Worker::State::kDead || worker.broken) continue;
    if (!worker.outbox.empty()) {
      capnp::MallocMessageBuilder message;
      auto out = message.initRoot<rpc::ToWorker>();
      Worker::Outbox& box = worker.outbox;
      auto functions = out.initFunctions(box.functions.size());
      for (size_t i = 0; i < box.functions.size(); ++i) {
        const FunctionRecord& f = functions_.at(box.functions[i]);
        functions[i].setKey(box.functions[i]);
        functions[i].setInvoker(AsData(f.invoker));
        functions[i].setFunction(AsData(f.function));
        functions[i].setName(f.name);
      }
      auto tasks = out.initTasks(box.tasks.size());
      for (size_t i = 0; i < box.tasks.size(); ++i) {
        const TaskRecord& task = tasks_.at(box.tasks[i]);
        auto t = tasks[i];
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
          } else if (const auto& value = objects_.at(arg.ref).value; value != nullptr) {
            args[a].setValue(AsData(*value));
          } else {
            args[a].setRef(AsData(arg.ref.Binary()));
          }
        }
      }
      auto objects = out.initObjects(box.objects.size());
      for (size_t i = 0; i < box.objects.size(); ++i) {
        objects[i].setId(AsData(box.objects[i].id.Binary()));
        if (box.objects[i].value != nullptr) {
          objects[i].setValue(AsData(*box.objects[i].value));
        } else {
          objects[i].setInStore(box.objects[i].size);
        }
      }
      if (box.get_failed) out.setGetFailed(*box.get_failed);
      out.setReturnQueued(box.return_queued);
      if (box.ready) {
        auto ready = out.initReady(box.ready->size());
        for (size_t i = 0; i < box.ready->size(); ++i) {
          ready.set(i, AsData((*box.ready)[i].Binary()));
        }
      }
      worker.stream->Queue(message);
      box = Worker::Outbox();
    }
    if (!worker.stream->HasPendingWrites()) continue;
    if (!worker.stream->Flush().ok()) {
      worker.broken = true;
      Wake();
      continue;
    }
    bool want_writes = worker.stream->HasPendingWrites();
    if (want_writes != worker.watching_writes) {
      epoll_event event{};
      event.events = EPOLLIN | (want_writes ? EPOLLOUT : 0);
      event.data.ptr = &worker;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, worker.stream->fd(), &event);
      worker.watching_writes = want_writes;
    }
  }
}

void Scheduler::HandleMessage(Worker& worker, std::unique_ptr<ReceivedMessage> message) {
  auto in = message->Root<rpc::FromWorker>();
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
    if (worker.held.insert(id).second) objects_[id].refs += 1;
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
    auto it = objects_.find(id);  // an object that no longer exists stays gone (see AddRef)
    if (it != objects_.end() && worker.held.insert(id).second) it->second.refs += 1;
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
    if (worker.held.erase(id) == 0) continue;
    auto it = objects_.find(id);
    if (it != objects_.end()) {
      it->second.refs -= 1;
      MaybeFree(id);
    }
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
      if (auto t = tasks_.find(id); t != tasks_.end()) t->second.worker = -1;
      ready_.push_front(id);
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
      worker.state = Worker::State::kBlocked;  // its CPUs go back to the pool meanwhile
      cpus_free_ += worker.cpus_held;
    }
  }
}

void Scheduler::StartNextTask(Worker& worker) {
  if (worker.state != Worker::State::kBlocked) cpus_free_ += worker.cpus_held;
  worker.cpus_held = 0;
  worker.pending.reset();
  if (!worker.suspended.empty()) {  // a nested task ended: the one beneath it waits again
    Worker::Suspended beneath = std::move(worker.suspended.back());
    worker.suspended.pop_back();
    worker.pending = std::move(beneath.pending);
    worker.cpus_held = beneath.cpus_held;  // given back when its get is served
    worker.state = Worker::State::kBlocked;
    return;
  }
  worker.state = Worker::State::kIdle;
  if (worker.assigned.empty()) {
    worker.idle_since = absl::Now();
    return;
  }
  worker.state = Worker::State::kBusy;  // the next queued task starts now, on these CPUs
  auto next = tasks_.find(worker.assigned.front());
  worker.cpus_held = next == tasks_.end() ? 0 : std::min(next->second.num_cpus, options_.num_cpus);
  cpus_free_ -= worker.cpus_held;
  RecordStart(worker);
}

void Scheduler::TaskFinished(Worker& worker, const TaskID& id) {
  worker.assigned.pop_front();
  StartNextTask(worker);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  std::vector<ObjectID> args;
  for (const auto& arg : it->second.args) {
    if (!arg.ref.IsNil()) args.push_back(arg.ref);
  }
  std::vector<ObjectID> nested = std::move(it->second.nested_refs);
  tasks_.erase(it);
  for (const ObjectID& arg : args) ReleaseUse(arg);
  ReleaseRefs(nested);
}

void Scheduler::ServeBlockedWorkers(bool expire) {
  absl::Time now = absl::Now();
  for (auto& w : workers_) {
    Worker& worker = *w;
    if (!worker.pending || worker.state == Worker::State::kDead) continue;
    Worker::Pending& pending = *worker.pending;
    // An object that does not exist (freed, or never made) counts as ready: a get of it
    // returns a "does not exist" error at once, as for the driver (see WaitForObjects).
    auto is_ready = [&](const ObjectID& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      auto it = objects_.find(id);
      return it == objects_.end() || it->second.ready;
    };
    const bool satisfied = pending.waiter->satisfied();
    if (!satisfied && !(expire && now >= pending.deadline)) continue;
    if (pending.is_wait) {
      std::vector<ObjectID> ready_ids;
      for (const ObjectID& id : pending.ids) {
        if (is_ready(id)) ready_ids.push_back(id);
      }
      worker.outbox.ready = std::move(ready_ids);
    } else if (!satisfied) {
      worker.outbox.get_failed = "timed out waiting for objects";
    } else {
      for (const ObjectID& id : pending.ids) {
        auto it = objects_.find(id);
        if (it == objects_.end()) {
          auto error = MissingObjectError(id);
          worker.outbox.objects.push_back({id, error, error->size()});
        } else {
          worker.outbox.objects.push_back({id, it->second.value, it->second.size});
        }
      }
    }
    worker.pending.reset();
    if (worker.state == Worker::State::kBlocked) {
      worker.state = Worker::State::kBusy;  // it runs again: take its CPUs back
      cpus_free_ -= worker.cpus_held;
    }
  }
}

void Scheduler::WorkerDied(Worker& worker, const std::string& why) {
  if (worker.state == Worker::State::kDead) return;
  bool was_running =
      worker.state == Worker::State::kBusy || worker.state == Worker::State::kBlocked;
  if (worker.state != Worker::State::kBlocked) cpus_free_ += worker.cpus_held;
  worker.cpus_held = 0;
  worker.state = Worker::State::kDead;
  worker.pending.reset();
  const size_t active = worker.active();  // running: the front one and those nested beneath
  worker.suspended.clear();
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, worker.stream->fd(), nullptr);
  worker.stream.reset();  // closes the socket: a worker still alive exits
  std::deque<TaskID> assigned = std::move(worker.assigned);
  worker.assigned.clear();
  for (size_t i = assigned.size(); i-- > 0;) {
    auto it = tasks_.find(assigned[i]);
    if (it == tasks_.end()) continue;
    TaskRecord& task = it->second;
    task.worker = -1;
    task.run_while_blocked = false;
    if (i < active && was_running && --task.retries_left < 0) {
      std::string message = absl::StrCat("the worker (pid ", worker.pid, ") running ", NameOf(task),
                                         " died: ", why, "; no retries left");
      FailTask(task,
               ErrorObject(NameOf(task), std::string(kWorkerCrashedErrorType), message, task.id));
    } else {
      ready_.push_front(task.id);
    }
  }
  for (const ObjectID& id : worker.held) {
    auto it = objects_.find(id);
    if (it == objects_.end()) continue;
    it->second.refs -= 1;
    MaybeFree(id);
  }
  worker.held.clear();
}

absl::Time Scheduler::RetireIdleWorkers() {
  int alive = 0;
  for (auto& w : workers_) alive += w->state != Worker::State::kDead && !w->broken;
  absl::Time now = absl::Now();
  absl::Time next = absl::InfiniteFuture();
  for (auto& w : workers_) {
    if (alive <= options_.num_workers) break;
    if (w->state != Worker::State::kIdle || w->broken || !w->assigned.empty()) continue;
    absl::Time due = w->idle_since + options_.idle_worker_timeout;
    if (due > now) {
      next = std::min(next, due);
      continue;
    }
    WorkerDied(*w, "idle");
    --alive;
  }
  return next;
}

std::optional<std::vector<std::shared_ptr<const std::string>>> Scheduler::WaitForObjects(
    std::span<const ObjectID> ids, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  ObjectWaiter waiter(objects_, ids, ids.size());
  if (!PollUntil([&] { return waiter.satisfied(); }, deadline)) return std::nullopt;
  std::vector<std::shared_ptr<const std::string>> values;
  for (const ObjectID& id : ids) {
    auto it = objects_.find(id);
    if (it == objects_.end()) {
      values.push_back(MissingObjectError(id));
    } else {
      values.push_back(it->second.value);
    }
  }
  return values;
}

WaitResult Scheduler::Wait(std::span<const ObjectID> ids, size_t num_returns, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  num_returns = std::min(num_returns, ids.size());
  {
    ObjectWaiter waiter(objects_, ids, num_returns);
    PollUntil([&] { return waiter.satisfied(); }, deadline);
  }
  WaitResult result;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto it = objects_.find(ids[i]);
    bool ready = it == objects_.end() || it->second.ready;
    if (ready && result.ready.size() < num_returns) {
      result.ready.push_back(i);
    } else {
      result.not_ready.push_back(i);
    }
  }
  return result;
}

absl::Time Scheduler::NextDeadline() {
  absl::Time earliest = RetireIdleWorkers();
  bool has_idle = false;
  for (auto& w : workers_) {
    if (w->state == Worker::State::kIdle) has_idle = true;
  }
  for (auto& w : workers_) {
    if (w->pending) earliest = std::min(earliest, w->pending->deadline);
    if (has_idle && w->queued() > 0 && !w->steal_pending) {
      earliest = std::min(earliest, w->front_started + kStealAfter);  // a steal to consider
    }
  }
  return earliest;
}

void Scheduler::PollOnce(absl::Time deadline, absl::Duration spin) {
  epoll_event events[64];
  int n = 0;
  for (absl::Time spin_until = std::min(deadline, absl::Now() + spin); n == 0;) {
    bool spinning = absl::Now() < spin_until;
    int timeout_ms = 0;
    if (!spinning) {
      timeout_ms =
          deadline == absl::InfiniteFuture()
              ? -1
              : std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()) + 1);
    }
    n = epoll_wait(epoll_fd_, events, 64, timeout_ms);
    if (!spinning) break;
  }
  std::vector<std::pair<Worker*, std::unique_ptr<ReceivedMessage>>> inbox;
  std::vector<std::pair<Worker*, std::string>> broken;
  std::vector<const NodeProcess*> died;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.ptr == nullptr) {
      uint64_t count;
      (void)!read(wake_fd_, &count, sizeof(count));
      continue;
    }
    auto is_node_process = [&](const std::unique_ptr<NodeProcess>& p) {
      return p.get() == events[i].data.ptr;
    };
    if (auto it = std::find_if(node_processes_.begin(), node_processes_.end(), is_node_process);
        it != node_processes_.end()) {
      died.push_back(it->get());
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, (*it)->pidfd, nullptr);
      continue;
    }
    auto* worker = static_cast<Worker*>(events[i].data.ptr);
    if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      absl::Status status = worker->stream->ReadAvailable(
          [&](std::unique_ptr<ReceivedMessage> m) { inbox.emplace_back(worker, std::move(m)); });
      if (!status.ok()) broken.emplace_back(worker, std::string(status.message()));
    }
  }
  std::vector<ObjectID> deletes;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    if (!died.empty()) {
      // The zygote first: its children (the store among them) die with it.
      const NodeProcess* first = died.front();
      for (const NodeProcess* p : died) {
        if (p->what.find("zygote") != std::string::npos) first = p;
      }
      NodeFailed(absl::StrCat(first->what, " (pid ", first->pid,
                              ") died: the node is gone; call ray::Shutdown (ray.shutdown()) "
                              "and start again"));
    }
    for (auto& [worker, message] : inbox) {
      if (worker->state == Worker::State::kDead) continue;
      try {
        HandleMessage(*worker, std::move(message));
      } catch (const kj::Exception& e) {
        broken.emplace_back(worker, absl::StrCat("malformed message: ", e.getDescription().cStr()));
      }
    }
    for (auto& w : workers_) {
      if (w->broken) broken.emplace_back(w.get(), "its socket failed");
    }
    for (auto& [worker, why] : broken) WorkerDied(*worker, why);
    ServeBlockedWorkers(/*expire=*/true);
    Dispatch();
    FlushWorkers();
    RetireIdleWorkers();
    deletes.swap(store_deletes_);
  }
  if (!deletes.empty()) (void)store_->Delete(deletes);
}

void Scheduler::Run() {
  while (true) {
    absl::Time deadline;
    {
      absl::MutexLock lock(&mu_);
      // A driver thread waiting for objects polls itself (see PollUntil); this thread waits
      // meanwhile, and a little after, in case the driver waits again at once.
      while (!stopping_ && (poller_busy_ || driver_waiters_ > 0 || absl::Now() < grace_until_)) {
        if (!poller_busy_ && driver_waiters_ == 0) {
          poller_cv_.WaitWithDeadline(&mu_, grace_until_);
        } else {
          poller_cv_.Wait(&mu_);
        }
      }
      if (stopping_) return;
      poller_busy_ = true;
      thread_polling_ = true;
      deadline = NextDeadline();
    }
    PollOnce(deadline, absl::ZeroDuration());
    absl::MutexLock lock(&mu_);
    poller_busy_ = false;
    thread_polling_ = false;
    objects_changed_.SignalAll();  // a driver thread waiting to poll may now
  }
}

bool Scheduler::PollUntil(absl::FunctionRef<bool()> done, absl::Time deadline) {
  ++driver_waiters_;
  if (thread_polling_) Wake();  // it hands polling over to this thread
  const ScopedInterruptCheck* check = ScopedInterruptCheck::Current();
  absl::Time next_check =
      check != nullptr ? absl::Now() + check->interval() : absl::InfiniteFuture();
  bool met = false;
  while (true) {
    if (done()) {
      met = true;
      break;
    }
    if (stopping_ || absl::Now() >= deadline) break;
    if (absl::Now() >= next_check) {
      mu_.Unlock();
      bool interrupted = check->Interrupted();
      mu_.Lock();
      if (interrupted) break;
      next_check = absl::Now() + check->interval();
      continue;
    }
    if (!poller_busy_) {
      // Poll here: the worker's reply then wakes this thread directly, one wake-up fewer
      // than through the scheduler thread.
      poller_busy_ = true;
      absl::Time poll_deadline = std::min({deadline, next_check, NextDeadline()});
      mu_.Unlock();
      PollOnce(poll_deadline, kDriverSpin);
      mu_.Lock();
      poller_busy_ = false;
      objects_changed_.SignalAll();
      continue;
    }
    objects_changed_.WaitWithDeadline(&mu_, std::min(deadline, next_check));
  }
  if (--driver_waiters_ == 0) grace_until_ = absl::Now() + kPollerGrace;
  poller_cv_.Signal();
  return met;
}

}  // namespace ray::core
