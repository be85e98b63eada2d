#include "ray/core_worker/driver_runtime.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ray/cluster/local_files.h"
#include "ray/core_worker/cluster_link.h"
#include "ray/core_worker/foreign_actors.h"
#include "ray/core_worker/limits.h"
#include "ray/core_worker/new_object.h"
#include "ray/core_worker/remote_worker.h"
#include "ray/core_worker/stored_objects.h"
#include "ray/core_worker/worker.h"
#include "ray/function/function_table.h"
#include "ray/node/scheduler.h"
#include "ray/node/zygote.h"
#include "ray/object/status.h"
#include "ray/store/client.h"
#include "ray/store/shared_memory.h"
#include "ray/store/store_runner.h"

namespace ray::core {
namespace {

// A secret that makes the driver's store client the store's owner (the one client that may
// delete objects others made: the node's reference counter).
absl::StatusOr<std::string> NewOwnerToken() {
  std::string token(32, '\0');
  if (getrandom(token.data(), token.size(), 0) != static_cast<ssize_t>(token.size())) {
    return absl::InternalError(absl::StrCat("getrandom: ", std::strerror(errno)));
  }
  return token;
}

// A random nonzero job number.
uint32_t NewJob() {
  uint32_t job = 0;
  while (job == 0) {
    if (getrandom(&job, sizeof(job), 0) != sizeof(job)) job = static_cast<uint32_t>(getpid());
  }
  return job;
}

class DriverRuntimeImpl final : public DriverRuntime {
 public:
  ~DriverRuntimeImpl() override {
    foreign_.reset();    // before what it hands results to
    cluster_.reset();    // the head holds this node dead
    scheduler_.reset();  // workers see their sockets close
    zygote_.reset();     // stops the store and any worker left, and waits
    std::error_code ignored;
    std::filesystem::remove_all(session_dir_, ignored);
  }

  absl::Status Init(const SessionOptions& options);

  absl::StatusOr<std::vector<ObjectID>> Submit(TaskSpec spec) override;
  absl::StatusOr<ObjectID> Put(size_t size, absl::FunctionRef<void(std::span<uint8_t>)> write,
                               const PutOptions& options) override;
  absl::StatusOr<std::vector<ObjectValue>> Get(std::span<const ObjectID> ids,
                                               absl::Duration timeout) override;
  absl::StatusOr<WaitIndices> Wait(std::span<const ObjectID> ids, size_t num_returns,
                                   absl::Duration timeout) override {
    absl::Time deadline = absl::Now() + timeout;  // an infinite timeout gives InfiniteFuture
    if (absl::Status node = NodeStatus(); !node.ok()) return node;
    std::vector<bool> ready = scheduler_->Wait(ids, num_returns, deadline);
    WaitIndices result;
    for (size_t i = 0; i < ids.size(); ++i) {
      (ready[i] && result.ready.size() < num_returns ? result.ready : result.not_ready)
          .push_back(i);
    }
    if (result.ready.size() < std::min(num_returns, ids.size()) && scheduler_->Interrupted()) {
      return ShutDownError();
    }
    return result;
  }
  void Interrupt() override { scheduler_->Interrupt(); }
  absl::Status KillActor(const ObjectID& actor, bool no_restart) override {
    if (foreign_ && foreign_->Owns(actor)) return foreign_->Kill(actor, no_restart);
    return scheduler_->KillActor(actor, no_restart);
  }
  // This driver's actors first, then (in a cluster) the actor host's detached ones.
  absl::StatusOr<std::optional<NamedActor>> LookupActor(const std::string& name) override {
    std::optional<std::pair<ObjectID, std::string>> found = scheduler_->LookupActor(name);
    if (found) return NamedActor{found->first, std::move(found->second)};
    if (!foreign_) return std::nullopt;
    return foreign_->Lookup(name);
  }
  // The node lost its store or its zygote: every call says so (Scheduler::NodeFailure).
  absl::Status NodeStatus() {
    std::optional<std::string> failure = scheduler_->NodeFailure();
    return failure ? absl::UnavailableError(*failure) : absl::OkStatus();
  }
  void AddRef(const ObjectID& id) override { scheduler_->AddRef(id); }
  void RemoveRef(const ObjectID& id) override { scheduler_->RemoveRef(id); }
  std::optional<TaskGraph::Snapshot> GraphSnapshot() const override {
    return scheduler_->GraphSnapshot();
  }
  TaskID CurrentTaskId() const override { return driver_task_; }

  const std::string& session_dir() const override { return session_dir_; }
  pid_t store_pid() const override { return store_pid_; }
  pid_t zygote_pid() const override { return zygote_->pid(); }
  std::vector<pid_t> worker_pids() override { return scheduler_->WorkerPids(); }
  double num_cpus() const override { return scheduler_->num_cpus(); }
  double free_cpus() override { return scheduler_->FreeCpus(); }
  absl::StatusOr<store::StoreClientStats> store_stats() override {
    return scheduler_->store().Stats();
  }
  absl::StatusOr<std::vector<cluster::NodeEntry>> Nodes() override {
    if (cluster_) return cluster_->Nodes();
    cluster::NodeEntry node = ThisNode();
    node.address = "127.0.0.1";
    auto stats = store_stats();
    node.store_used_bytes = stats.ok() ? stats->used : 0;
    for (Scheduler::NodeUse& use : scheduler_->Usage()) {  // this node alone
      node.cpus_in_use = use.cpus;
      node.resources_in_use.insert(use.resources.begin(), use.resources.end());
    }
    return std::vector<cluster::NodeEntry>{node};
  }
  ClusterLink* cluster() override { return cluster_.get(); }

 private:
  std::string session_dir_;
  std::unique_ptr<Zygote> zygote_;
  pid_t store_pid_ = 0;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<ClusterLink> cluster_;     // in a cluster
  std::unique_ptr<ForeignActors> foreign_;   // in a cluster: the actor host's actors
  std::map<std::string, double> resources_;  // this node's custom resources

  // What the node has, as the cluster's node table holds it.
  cluster::NodeEntry ThisNode() {
    cluster::NodeEntry node;
    node.node_id = ThisNodeId();
    node.num_cpus = scheduler_->num_cpus();
    node.resources = resources_;
    node.object_store_bytes = scheduler_->store().capacity();
    return node;
  }
  // This session's job: every task it or its tasks submit carries it (see TaskID).
  uint32_t job_ = NewJob();
  TaskID driver_task_ = TaskID::ForJob(job_);
  std::atomic<uint32_t> puts_{0};
  absl::Mutex functions_mu_;
  absl::flat_hash_set<uint64_t> functions_defined_ ABSL_GUARDED_BY(functions_mu_);
};

absl::Status DriverRuntimeImpl::Init(const SessionOptions& options) {
  const std::string root = SessionDirRoot(options);  // its length checked (CheckSessionOptions)
  std::string dir_template = root + "/ray-session-XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) {  // mode 0700
    return absl::InternalError(
        absl::StrCat("cannot make a session folder in ", root, ": ", std::strerror(errno)));
  }
  session_dir_ = dir_template;
  std::string store_socket = session_dir_ + "/store.sock";
  std::string store_log = session_dir_ + "/store.log";

  auto owner_token = NewOwnerToken();
  if (!owner_token.ok()) return owner_token.status();
  store::StoreOptions store_options;
  store_options.owner_token = *owner_token;
  store_options.capacity = options.object_store_memory > 0
                               ? options.object_store_memory
                               : DefaultStoreMemory(store::MemInfo("MemTotal") * 1024,
                                                    store::MemInfo("MemAvailable") * 1024);
  // In a cluster the node's workers copy objects from other nodes: they need the cluster's
  // credentials, known before the zygote forks (so that its workers have them).
  ClusterLinkOptions link_options;
  if (!options.address.empty()) {
    auto address = cluster::ResolveAddress(options.address);
    auto token = address.ok() ? cluster::FindToken(*address) : address.status();
    auto credentials = token.ok() ? cluster::CredentialsFromEnv(*token) : token.status();
    if (!credentials.ok()) {
      return absl::Status(credentials.status().code(),
                          absl::StrCat("cannot join the cluster at ", options.address, ": ",
                                       credentials.status().message()));
    }
    link_options = {.address = *address,
                    .credentials = *credentials,
                    .job = job_,
                    .store_socket = store_socket,
                    .worker_argv = options.remote_worker_argv,
                    .worker_env = options.remote_worker_env};
  }
  const bool in_cluster = !options.address.empty();
  const cluster::Credentials credentials = link_options.credentials;
  auto zygote = Zygote::Start(
      [=](int ready_fd) {
        int log = open(store_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log >= 0) {
          dup2(log, STDOUT_FILENO);
          dup2(log, STDERR_FILENO);
        }
        return store::RunStore(store_options, store_socket, ready_fd);
      },
      [=](int fd) {
        if (options.worker_command_line_title) SetProcessTitle("ray::worker", true);
        if (in_cluster) return RunClusterWorker(fd, store_socket, credentials, "");
        return RunWorker(fd, store_socket);
      },
      session_dir_);
  if (!zygote.ok()) return zygote.status();
  zygote_ = *std::move(zygote);

  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return absl::InternalError("pipe");
  auto store_pid = zygote_->SpawnStore(ready[1]);
  if (!store_pid.ok()) {
    close(ready[0]);
    return store_pid.status();
  }
  store_pid_ = *store_pid;
  if (!store::AwaitStoreReady(ready[0])) {
    return absl::InternalError(absl::StrCat("the object store did not start; see ", store_log));
  }
  auto client =
      store::StoreClient::Connect(store_socket, {.name = "driver", .owner_token = *owner_token});
  if (!client.ok()) return client.status();

  resources_ = options.resources;
  SchedulerOptions scheduler_options;
  scheduler_options.num_workers = options.num_workers > 0
                                      ? options.num_workers
                                      : std::max(1u, std::thread::hardware_concurrency());
  scheduler_options.num_cpus =
      options.num_cpus > 0 ? options.num_cpus : scheduler_options.num_workers;
  scheduler_options.root_task = driver_task_;
  scheduler_options.record_task_graph = options.record_task_graph;
  if (options.max_recorded_tasks > 0) {
    scheduler_options.max_recorded_tasks = options.max_recorded_tasks;
  }
  scheduler_options.idle_worker_timeout = options.idle_worker_timeout;
  scheduler_options.worker_stall_timeout = options.worker_stall_timeout;
  scheduler_options.resources.insert(options.resources.begin(), options.resources.end());
  scheduler_options.node_processes = {{zygote_->pid(), "the node's zygote (which starts workers)"},
                                      {store_pid_, "the node's object store"}};
  if (options.max_workers > 0) {
    scheduler_options.max_workers = std::max(options.max_workers, scheduler_options.num_workers);
  }
  if (options.actor_host) {  // its actors and tasks run on the cluster's other nodes
    scheduler_options.num_workers = 0;
    scheduler_options.num_cpus = 0;
  }
  Zygote* z = zygote_.get();
  scheduler_ = std::make_unique<Scheduler>(scheduler_options, *std::move(client),
                                           [z](int fd) { return z->SpawnWorker(fd); });
  if (absl::Status started = scheduler_->Start(); !started.ok()) return started;
  if (options.address.empty()) return absl::OkStatus();
  link_options.store_used = [this]() -> uint64_t {
    auto stats = store_stats();
    return stats.ok() ? stats->used : 0;
  };
  std::string results_store = link_options.store_socket;
  auto link = ClusterLink::Join(std::move(link_options), ThisNode(), *scheduler_);
  if (!link.ok()) return link.status();
  cluster_ = *std::move(link);
  if (options.actor_host) return absl::OkStatus();  // it owns the detached actors itself
  foreign_ = std::make_unique<ForeignActors>(
      *scheduler_, std::move(results_store), cluster_->credentials(),
      [this](bool start) { return cluster_->ActorHost(start); },
      [this](const ObjectID& id) -> absl::StatusOr<std::string> {
        absl::StatusOr<std::vector<ObjectValue>> value = Get({&id, 1}, absl::InfiniteDuration());
        if (!value.ok()) return value.status();
        const std::span<const uint8_t> bytes = value->front().bytes;
        return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      });
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ObjectID>> DriverRuntimeImpl::Submit(TaskSpec spec) {
  if (absl::Status node = NodeStatus(); !node.ok()) return node;
  // In a cluster a detached actor is the actor host's (its calls are forwarded there by the
  // scheduler: see ForeignActors).
  if (foreign_ && spec.creates_actor && spec.creates_actor->detached) {
    return foreign_->Create(std::move(spec));
  }
  if (absl::Status count =
          CheckIdCount(spec.args.size() + spec.nested_refs.size(), "a task submitted");
      !count.ok()) {
    return count;
  }
  auto described = DescribeTaskFunction(spec.invoker, spec.function);
  if (!described.ok()) return described.status();
  {
    absl::MutexLock lock(&functions_mu_);
    if (functions_defined_.insert(described->key).second) {
      scheduler_->DefineFunction(described->key, *described->record);
    }
  }
  TaskRecord task;
  task.id = TaskID::ForJob(job_);
  task.parent = driver_task_;
  task.function_key = described->key;
  task.num_returns = spec.options.num_returns;
  task.num_cpus = spec.options.num_cpus;
  task.resources = std::move(spec.options.resources);
  task.retries_left = spec.options.max_retries;
  task.name = std::move(spec.options.name);
  task.nested_refs = std::move(spec.nested_refs);
  task.actor = spec.actor;
  if (spec.creates_actor) {
    task.creates_actor = std::make_shared<const ActorOptions>(*std::move(spec.creates_actor));
  }
  // Large values (and those past the task's inline budget) go to the worker through the
  // store, not through two sockets.
  absl::StatusOr<std::vector<ObjectID>> stored = MoveLargeArgs(
      spec.args, [&](size_t size, ObjectWrite write) { return Put(size, write, {}); },
      [&](const ObjectID& id) { scheduler_->RemoveRef(id); });
  if (!stored.ok()) return stored.status();
  task.args.reserve(spec.args.size());
  for (TaskArg& arg : spec.args) {
    task.args.push_back(
        TaskRecord::Arg{.ref = arg.ref, .value = arg.ref.IsNil() ? std::move(arg.value) : ""});
  }
  std::vector<ObjectID> returns;
  for (int i = 1; i <= task.num_returns; ++i) returns.push_back(ObjectID::ForReturn(task.id, i));
  scheduler_->Submit(std::move(task));
  for (const ObjectID& id : *stored) scheduler_->RemoveRef(id);  // the task keeps it meanwhile
  return returns;
}

absl::StatusOr<ObjectID> DriverRuntimeImpl::Put(size_t size,
                                                absl::FunctionRef<void(std::span<uint8_t>)> write,
                                                const PutOptions& options) {
  if (absl::Status node = NodeStatus(); !node.ok()) return node;
  if (absl::Status count = CheckIdCount(options.nested_refs.size(), "a put"); !count.ok()) {
    return count;
  }
  ObjectID id = ObjectID::ForPut(driver_task_, ++puts_, options.hidden);
  store::StoreClient& store = scheduler_->store();
  auto object = NewObject::Create(store, id, size, size <= kInlineLimit);
  if (absl::IsResourceExhausted(object.status())) {
    // Objects whose last reference went may not be deleted yet: delete them, then try again.
    scheduler_->ApplyStoreDeletes();
    object = NewObject::Create(store, id, size, /*inline_ok=*/false);
  }
  if (!object.ok()) return object.status();
  write(object->span());
  absl::StatusOr<NewObject::Written> written = std::move(*object).Finish(store);
  if (!written.ok()) return written.status();
  scheduler_->AddObject(
      id,
      written->in_store ? nullptr : std::make_shared<std::string>(std::move(written->inline_value)),
      written->size, options.nested_refs);
  return id;
}

absl::StatusOr<std::vector<ObjectValue>> DriverRuntimeImpl::Get(std::span<const ObjectID> ids,
                                                                absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;  // an infinite timeout gives InfiniteFuture
  if (absl::Status node = NodeStatus(); !node.ok()) return node;
  auto values = scheduler_->WaitForObjects(ids, deadline);
  // It broke meanwhile: the results are that error.
  if (absl::Status node = NodeStatus(); !node.ok()) return node;
  if (!values && scheduler_->Interrupted()) return ShutDownError();
  if (!values) {
    return absl::DeadlineExceededError(
        absl::StrCat("Get timed out after ", absl::FormatDuration(timeout)));
  }
  std::vector<ObjectValue> result(ids.size());
  std::vector<ObjectID> from_store;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (const auto& value = (*values)[i]; value != nullptr) {
      result[i] = {{reinterpret_cast<const uint8_t*>(value->data()), value->size()}, value};
    } else {
      from_store.push_back(ids[i]);
    }
  }
  if (from_store.empty()) return result;
  if (cluster_) {  // those only other nodes' stores hold are copied here first
    std::vector<object_manager::ObjectSource> copies;
    for (const ObjectID& id : from_store) {
      if (std::optional<std::string> source = scheduler_->SourceOf(id)) {
        copies.push_back({id, *std::move(source)});
      }
    }
    if (!copies.empty()) {
      std::vector<absl::Status> copied =
          cluster_->CopyHere(copies, object_manager::PullPriority::kGet, deadline);
      if (absl::Status failed = FirstCopyFailure(copies, copied); !failed.ok()) return failed;
    }
  }
  // Each exists (the scheduler said so): a seal may still be on its way; a missing one is gone.
  absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
  auto stored = ReadStoredObjects(scheduler_->store(), from_store, left);
  if (!stored.ok()) return stored.status();
  size_t next = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if ((*values)[i] == nullptr) result[i] = std::move((*stored)[next++]);
  }
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DriverRuntime>> DriverRuntime::Start(const SessionOptions& options) {
  // Debian's Abseil checks lock order on every Mutex acquisition (about 30 ns each); the
  // runtime's locking is simple and tested, and the hot path takes several locks per task.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  auto runtime = std::make_unique<DriverRuntimeImpl>();
  if (absl::Status status = runtime->Init(options); !status.ok()) return status;
  return std::unique_ptr<DriverRuntime>(std::move(runtime));
}

}  // namespace ray::core
