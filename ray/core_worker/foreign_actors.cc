#include "ray/core_worker/foreign_actors.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "ray/cluster/cluster_socket.h"
#include "ray/core_worker/worker_runtime.h"
#include "ray/object/object_format.h"
#include "ray/object/status.h"
#include "ray/object_manager/object_puller.h"

namespace ray::core {

using worker_internal::WorkerRuntime;

struct ForeignActors::Copies {
  std::unique_ptr<store::StoreClient> store;  // this node's, where copies land
  std::unique_ptr<object_manager::ObjectPuller> puller;
};

ForeignActors::ForeignActors(Scheduler& scheduler, std::string store_socket,
                             cluster::Credentials credentials, FindHost find_host, ReadObject read)
    : scheduler_(scheduler),
      store_socket_(std::move(store_socket)),
      credentials_(std::move(credentials)),
      find_host_(std::move(find_host)),
      read_(std::move(read)) {
  forwarder_ = std::thread([this] { ForwardLoop(); });
  scheduler_.SetForeignHooks(
      {.forward_call =
           [this](const TaskRecord& call, const FunctionRecord& function) {
             Queue([this, call, function] { ForwardCall(call, function); });
           },
       .lookup =
           [this](int worker, uint64_t request, const std::string& name) {
             Queue([this, worker, request, name] {
               absl::StatusOr<std::optional<CoreRuntime::NamedActor>> found = Lookup(name);
               std::optional<std::pair<ObjectID, std::string>> answer;
               if (found.ok() && found->has_value()) {
                 answer.emplace((*found)->id, std::move((*found)->type));
               }
               scheduler_.ForeignLookupDone(worker, request, std::move(answer));
             });
           },
       .kill =
           [this](const ObjectID& actor, bool no_restart) {
             Queue([this, actor, no_restart] {  // after the calls forwarded before it
               if (absl::Status killed = Kill(actor, no_restart); !killed.ok()) {
                 fprintf(stderr, "ray: a task's kill of an actor of the actor host failed: %s\n",
                         std::string(killed.message()).c_str());
               }
             });
           }});
}

ForeignActors::~ForeignActors() {
  scheduler_.SetForeignHooks({});
  {
    absl::MutexLock lock(&forward_mu_);
    forward_stopping_ = true;
  }
  forwarder_.join();
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (host_ != nullptr) host_->StopClient();  // a get in progress returns
  if (deliverer_.joinable()) deliverer_.join();
  host_.reset();
}

bool ForeignActors::Owns(const ObjectID& actor) { return scheduler_.IsForeignActor(actor); }

absl::Status ForeignActors::ReadArguments(TaskSpec& spec, const ObjectID& actor) {
  for (const ObjectID& nested : spec.nested_refs) {
    if (nested != actor) {
      return absl::InvalidArgumentError(
          "an argument that holds ObjectRefs cannot go to an actor of the actor host (a detached "
          "actor), which cannot read this driver's objects: pass their values");
    }
  }
  spec.nested_refs.clear();
  for (TaskArg& arg : spec.args) {
    if (arg.ref.IsNil()) continue;
    absl::StatusOr<std::string> value = read_(arg.ref);
    if (!value.ok()) return value.status();
    arg = {.value = *std::move(value)};
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<WorkerRuntime>> ForeignActors::Host(bool start) {
  if (host_ != nullptr && !host_->ClientClosed()) return host_;
  host_ = nullptr;  // it died: due results from it fail at once (Take)
  absl::StatusOr<cluster::ActorHostAddress> found = find_host_(start);
  if (!found.ok()) return found.status();
  if (copies_ == nullptr) {  // kept for the hosts after this one
    auto store = store::StoreClient::Connect(store_socket_, {.name = "actor host results"});
    if (!store.ok()) return store.status();
    copies_ = std::make_unique<Copies>();
    copies_->store = *std::move(store);
    copies_->puller = std::make_unique<object_manager::ObjectPuller>(
        *copies_->store, object_manager::ObjectPullerOptions{.credentials = credentials_});
  }
  auto fd = cluster::ConnectClusterSocket(found->address, credentials_);
  if (!fd.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot reach the actor host at ", found->address,
                                               ": ", fd.status().message()));
  }
  auto reader = store::StoreClient::Connect(store_socket_, {.name = "actor host client"});
  if (!reader.ok()) {
    close(*fd);
    return reader.status();
  }
  object_manager::ObjectPuller* puller = copies_->puller.get();
  RemoteWorkerOptions remote{
      .copy = [puller](std::span<const object_manager::ObjectSource> objects, bool) {
        return puller->PullAll(objects, object_manager::PullPriority::kGet);
      }};
  auto host = std::make_shared<WorkerRuntime>(*fd, *std::move(reader), std::move(remote));
  if (absl::Status started = host->StartClient(found->job); !started.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the actor host at ", found->address, " closed the connection"));
  }
  host_address_ = found->address;
  host_ = std::move(host);
  if (!deliverer_.joinable()) deliverer_ = std::thread([this] { Deliver(); });
  return host_;
}

absl::StatusOr<std::vector<ObjectID>> ForeignActors::Create(TaskSpec spec) {
  if (absl::Status read = ReadArguments(spec, ObjectID()); !read.ok()) return read;
  absl::MutexLock lock(&mu_);  // submissions reach the host in the order their results are taken
  absl::StatusOr<std::shared_ptr<WorkerRuntime>> host = Host();
  if (!host.ok()) return host.status();
  absl::StatusOr<std::vector<ObjectID>> returns = (*host)->Submit(std::move(spec));
  if (!returns.ok()) return returns.status();
  for (const ObjectID& id : *returns) scheduler_.ExpectObject(id);
  scheduler_.AddForeignActor(returns->front());
  due_.push_back({*returns, TaskID(), *host, host_address_});
  return returns;
}

void ForeignActors::Queue(std::function<void()> work) {
  absl::MutexLock lock(&forward_mu_);
  forward_.push_back(std::move(work));
}

void ForeignActors::ForwardLoop() {
  while (true) {
    std::function<void()> next;
    {
      absl::MutexLock lock(&forward_mu_);
      auto due = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(forward_mu_) {
        return forward_stopping_ || !forward_.empty();
      };
      forward_mu_.Await(absl::Condition(&due));
      if (forward_stopping_) return;
      next = std::move(forward_.front());
      forward_.pop_front();
    }
    next();
  }
}

void ForeignActors::ForwardCall(const TaskRecord& call, const FunctionRecord& function) {
  absl::Status sent = SubmitForwarded(call, function);
  if (sent.ok()) return;
  auto error = ErrorObject(
      call.name, ErrorTypeName(sent.code()),
      absl::StrCat("the call could not go to the actor's owner: ", sent.message()), call.id);
  scheduler_.ForeignCallDone(
      call.id, std::vector<Scheduler::ForeignReturn>(call.num_returns, {error, error->size()}));
}

absl::Status ForeignActors::SubmitForwarded(const TaskRecord& call,
                                            const FunctionRecord& function) {
  TaskSpec spec;
  spec.actor = call.actor;
  spec.options = {.num_returns = call.num_returns,
                  .num_cpus = 0,
                  .max_retries = std::max(0, call.retries_left),
                  .name = call.name};
  spec.nested_refs = call.nested_refs;
  for (const TaskRecord::Arg& arg : call.args) spec.args.push_back({arg.ref, arg.value});
  // The call is ready: its ObjectRef arguments exist.
  if (absl::Status read = ReadArguments(spec, call.actor); !read.ok()) return read;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::shared_ptr<WorkerRuntime>> host = Host();
  if (!host.ok()) return host.status();
  absl::StatusOr<std::vector<ObjectID>> returns =
      (*host)->SubmitDescribed(call.function_key, function, std::move(spec));
  if (!returns.ok()) return returns.status();
  due_.push_back({*returns, call.id, *host, host_address_});
  return absl::OkStatus();
}

absl::StatusOr<std::optional<CoreRuntime::NamedActor>> ForeignActors::Lookup(
    const std::string& name) {
  // Twice if the host's connection closed under the first ask (it died): the head is asked again.
  for (int attempt = 0;; ++attempt) {
    std::shared_ptr<WorkerRuntime> host;
    std::string address;
    {
      absl::MutexLock lock(&mu_);
      absl::StatusOr<std::shared_ptr<WorkerRuntime>> connected = Host(/*start=*/false);
      if (absl::IsNotFound(connected.status())) return std::nullopt;  // no host: no such actor
      if (!connected.ok()) return connected.status();
      host = *std::move(connected);
      address = host_address_;
    }
    absl::StatusOr<std::optional<CoreRuntime::NamedActor>> found = host->LookupActor(name);
    if (absl::IsUnavailable(found.status()) && attempt == 0) {
      host->StopClient();  // it is closed for every thread
      continue;
    }
    if (!found.ok() || !found->has_value()) return found;
    const ObjectID id = (*found)->id;
    scheduler_.ExpectObject(id);  // the caller's reference
    Take({{id}, TaskID(), host, address});
    scheduler_.AddForeignActor(id);
    return found;
  }
}

absl::Status ForeignActors::Kill(const ObjectID& actor, bool no_restart) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::shared_ptr<WorkerRuntime>> host = Host(/*start=*/false);
  if (absl::IsNotFound(host.status())) return absl::OkStatus();  // its host, and it, are gone
  if (!host.ok()) return host.status();
  return (*host)->KillActor(actor, no_restart);
}

void ForeignActors::Deliver() {
  while (true) {
    Due due;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !due_.empty(); };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      due = due_.front();
    }
    Take(due);
    absl::MutexLock lock(&mu_);
    due_.pop_front();
  }
}

void ForeignActors::Take(const Due& due) {
  WorkerRuntime* host = due.host.get();
  const std::string& address = due.address;
  const std::vector<ObjectID>& ids = due.ids;
  absl::StatusOr<std::vector<ObjectValue>> values = host->Get(ids, absl::InfiniteDuration());
  std::vector<Scheduler::ForeignReturn> returns;
  std::vector<ObjectID> copied_under_host_ids;  // deleted once `values` no longer holds them
  // A closed connection is the host's death; any other failure keeps its kind (a copy into this
  // node's store too big for it: ObjectStoreFullError).
  const std::string_view error_type = absl::IsUnavailable(values.status())
                                          ? kActorDiedErrorType
                                          : ErrorTypeName(values.status().code());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!values.ok()) {
      auto error =
          ErrorObject("a call of an actor of the actor host", error_type,
                      absl::StrCat("the actor host at ", address,
                                   " could not give the result: ", values.status().message()),
                      ids[i].Task());
      returns.push_back({error, error->size()});
      continue;
    }
    const std::span<const uint8_t> bytes = (*values)[i].bytes;
    // A value the host's get copied into this node's store stays there (a forwarded call's
    // under its return's ID here), else it goes inline.
    absl::StatusOr<bool> stored = copies_->store->Contains(ids[i]);
    bool in_store = stored.ok() && *stored;
    if (in_store && !due.call.IsNil()) {
      copied_under_host_ids.push_back(ids[i]);
      const ObjectID here = ObjectID::ForReturn(due.call, static_cast<uint32_t>(i + 1));
      in_store = copies_->store->Put(here, bytes).ok();
    }
    returns.push_back({in_store ? nullptr
                                : std::make_shared<const std::string>(
                                      reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                       bytes.size()});
  }
  values = absl::StatusOr<std::vector<ObjectValue>>();  // lets go of the copies
  (void)copies_->store->Delete(copied_under_host_ids);
  if (!due.call.IsNil()) {
    scheduler_.ForeignCallDone(due.call, std::move(returns));
  } else {
    for (size_t i = 0; i < ids.size(); ++i) {
      scheduler_.ObjectArrived(ids[i], std::move(returns[i].value), returns[i].size);
    }
  }
  for (const ObjectID& id : ids) host->RemoveRef(id);  // the host's copy may go
}

}  // namespace ray::core
