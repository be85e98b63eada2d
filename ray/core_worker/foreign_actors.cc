#include "ray/core_worker/foreign_actors.h"

#include <unistd.h>

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
                             cluster::Credentials credentials, FindHost find_host)
    : scheduler_(scheduler),
      store_socket_(std::move(store_socket)),
      credentials_(std::move(credentials)),
      find_host_(std::move(find_host)) {}

ForeignActors::~ForeignActors() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (host_ != nullptr) host_->StopClient();  // a get in progress returns
  if (deliverer_.joinable()) deliverer_.join();
  host_.reset();
}

bool ForeignActors::Owns(const ObjectID& actor) {
  absl::MutexLock lock(&mu_);
  return owned_.contains(actor);
}

absl::StatusOr<WorkerRuntime*> ForeignActors::Host(bool start) {
  if (host_ != nullptr) return host_.get();
  absl::StatusOr<ActorHostAddress> found = find_host_(start);
  if (!found.ok()) return found.status();
  auto store = store::StoreClient::Connect(store_socket_, {.name = "actor host results"});
  if (!store.ok()) return store.status();
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
  copies_ = std::make_unique<Copies>();
  copies_->store = *std::move(store);
  copies_->puller = std::make_unique<object_manager::ObjectPuller>(
      *copies_->store, object_manager::ObjectPullerOptions{.credentials = credentials_});
  object_manager::ObjectPuller* puller = copies_->puller.get();
  RemoteWorkerOptions remote{
      .copy = [puller](std::span<const object_manager::ObjectSource> objects, bool) {
        return puller->PullAll(objects, object_manager::PullPriority::kGet);
      }};
  auto host = std::make_unique<WorkerRuntime>(*fd, *std::move(reader), std::move(remote));
  if (absl::Status started = host->StartClient(found->job); !started.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the actor host at ", found->address, " closed the connection"));
  }
  host_address_ = found->address;
  host_ = std::move(host);
  deliverer_ = std::thread([this] { Deliver(); });
  return host_.get();
}

absl::StatusOr<std::vector<ObjectID>> ForeignActors::Submit(TaskSpec spec) {
  const bool creation = spec.creates_actor.has_value();
  absl::MutexLock lock(&mu_);  // submissions reach the host in the order their returns are taken
  absl::StatusOr<WorkerRuntime*> host = Host();
  if (!host.ok()) return host.status();
  absl::StatusOr<std::vector<ObjectID>> returns = (*host)->Submit(std::move(spec));
  if (!returns.ok()) return returns.status();
  for (const ObjectID& id : *returns) scheduler_.ExpectObject(id);
  if (creation) owned_.insert(returns->front());
  pending_.push_back(*returns);
  return returns;
}

absl::StatusOr<std::optional<CoreRuntime::NamedActor>> ForeignActors::Lookup(
    const std::string& name) {
  WorkerRuntime* host;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<WorkerRuntime*> connected = Host(/*start=*/false);
    if (absl::IsNotFound(connected.status())) return std::nullopt;  // no host: no such actor
    if (!connected.ok()) return connected.status();
    host = *connected;
  }
  absl::StatusOr<std::optional<CoreRuntime::NamedActor>> found = host->LookupActor(name);
  if (!found.ok() || !found->has_value()) return found;
  const ObjectID id = (*found)->id;
  scheduler_.ExpectObject(id);  // the caller's reference
  Take({id});
  absl::MutexLock lock(&mu_);
  owned_.insert(id);
  return found;
}

absl::Status ForeignActors::Kill(const ObjectID& actor, bool no_restart) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<WorkerRuntime*> host = Host();
  if (!host.ok()) return host.status();
  return (*host)->KillActor(actor, no_restart);
}

void ForeignActors::Deliver() {
  while (true) {
    std::vector<ObjectID> ids;
    {
      absl::MutexLock lock(&mu_);
      auto due = [this]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !pending_.empty(); };
      mu_.Await(absl::Condition(&due));
      if (stopping_) return;
      ids = pending_.front();
    }
    Take(ids);
    absl::MutexLock lock(&mu_);
    pending_.pop_front();
  }
}

void ForeignActors::Take(const std::vector<ObjectID>& ids) {
  WorkerRuntime* host;
  std::string address;
  {
    absl::MutexLock lock(&mu_);
    host = host_.get();
    address = host_address_;
  }
  absl::StatusOr<std::vector<ObjectValue>> values = host->Get(ids, absl::InfiniteDuration());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!values.ok()) {
      TaskErrorInfo info;
      info.function_name = "an actor of the actor host";
      info.exception_type = kActorDiedErrorType;
      info.message = absl::StrCat("the actor host at ", address,
                                  " could not give the result: ", values.status().message());
      info.task_id = ids[i].Task().Hex();
      info.pid = getpid();
      auto error = std::make_shared<const std::string>(SerializeError(info));
      scheduler_.ObjectArrived(ids[i], error, error->size());
      continue;
    }
    const ObjectValue& value = (*values)[i];
    // A value the host's get copied into this node's store stays there, else it goes inline.
    absl::StatusOr<bool> stored = copies_->store->Contains(ids[i]);
    if (stored.ok() && *stored) {
      scheduler_.ObjectArrived(ids[i], nullptr, value.bytes.size());
    } else {
      scheduler_.ObjectArrived(
          ids[i],
          std::make_shared<const std::string>(reinterpret_cast<const char*>(value.bytes.data()),
                                              value.bytes.size()),
          value.bytes.size());
    }
  }
  for (const ObjectID& id : ids) host->RemoveRef(id);  // the host's copy may go
}

}  // namespace ray::core
