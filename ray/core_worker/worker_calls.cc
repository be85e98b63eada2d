// The API's calls inside a task: nested tasks, Put, Get, Wait and references.
#include "ray/core_worker/worker_runtime.h"

namespace ray::core::worker_internal {

absl::StatusOr<std::vector<ObjectID>> WorkerRuntime::Submit(TaskSpec spec) {
  auto described = DescribeTaskFunction(spec.invoker, spec.function);
  if (!described.ok()) return described.status();
  return SubmitDescribed(described->key, *described->record, std::move(spec));
}

absl::StatusOr<std::vector<ObjectID>> WorkerRuntime::SubmitDescribed(uint64_t key,
                                                                     const FunctionRecord& record,
                                                                     TaskSpec spec) {
  if (absl::Status count =
          CheckIdCount(spec.args.size() + spec.nested_refs.size(), "a task submitted");
      !count.ok()) {
    return count;
  }
  // Large argument values, and those past the task's inline budget, go through the store,
  // before the task message is built (a client's go inline, within one message).
  absl::StatusOr<std::vector<ObjectID>> stored =
      client_ ? CheckClientArgs(spec.args)
              : MoveLargeArgs(
                    spec.args,
                    [&](size_t size, ObjectWrite write) {
                      return PutValue(size, write, {}, /*inline_ok=*/false);
                    },
                    [&](const ObjectID& id) { RemoveRef(id); });
  if (!stored.ok()) return stored.status();
  const TaskID parent = CurrentTaskId();
  TaskID id = TaskID::ForJob(parent.Job());  // its driver's job
  absl::MutexLock lock(&out_mu_);
  // Decided under out_mu_: a call thread submitting the same function at once must not send its
  // task before the message that defines the function (the scheduler drops a task of an unknown
  // one).
  if (functions_sent_.insert(key).second) {
    absl::MutexLock functions(&functions_mu_);  // only on a function's first use
    defined_.try_emplace(key, record);
    out_.functions.emplace_back(key, record);
  }
  auto orphan = out_.arena->getOrphanage().newOrphan<rpc::Task>();
  const TaskHeader header{
      .id = id,
      .parent = parent,
      .function = key,
      .num_returns = static_cast<uint32_t>(spec.options.num_returns),
      .num_cpus = spec.options.num_cpus,
      .max_retries = spec.options.max_retries,
      .name = spec.options.name,
      .actor = spec.actor,
      .creates_actor = spec.creates_actor
                           ? std::make_shared<const ActorOptions>(*std::move(spec.creates_actor))
                           : nullptr};
  WriteTask(
      orphan.get(), header, spec.args.size(),
      [&](size_t i) -> ArgView { return {.ref = spec.args[i].ref, .value = spec.args[i].value}; },
      spec.nested_refs, spec.options.resources);
  out_.submits.push_back(kj::mv(orphan));
  std::vector<ObjectID> returns;
  for (int i = 1; i <= spec.options.num_returns; ++i) {
    returns.push_back(ObjectID::ForReturn(id, i));
    refs_[returns.back()] += 1;  // the adopted reference (see core_runtime.h)
  }
  for (const ObjectID& put : *stored) RemoveRefLocked(put);  // the task keeps it meanwhile
  if (!SendLocked().ok()) return ConnectionClosed();
  return returns;
}

absl::StatusOr<ObjectID> WorkerRuntime::PutValue(size_t size,
                                                 absl::FunctionRef<void(std::span<uint8_t>)> write,
                                                 const PutOptions& options, bool inline_ok) {
  if (absl::Status count = CheckIdCount(options.nested_refs.size(), "a put"); !count.ok()) {
    return count;
  }
  ObjectID id = NextPutId(options.hidden);
  // A retried task may find its put stored by an earlier attempt: that one stands.
  absl::StatusOr<NewObject::Written> written =
      NewObject::Write(*store_, id, size, write, inline_ok);
  if (!written.ok()) return written.status();
  absl::MutexLock lock(&out_mu_);
  if (written->in_store) {
    out_.puts.push_back({id, written->size, options.nested_refs});
  } else {
    out_.put_bytes += size;
    out_.puts.push_back({id, std::move(written->inline_value), options.nested_refs});
    // A task that puts much before it sends anything: the puts go in batches (see SendLocked).
    if (out_.put_bytes >= rpc::BATCH_BYTES && !SendLocked().ok()) return ConnectionClosed();
  }
  refs_[id] += 1;
  return id;
}

ObjectID WorkerRuntime::NextPutId(bool hidden) {
  if (running_ != nullptr) return ObjectID::ForPut(running_->id, ++running_->puts, hidden);
  absl::MutexLock lock(&current_mu_);
  return ObjectID::ForPut(current_task_, ++puts_in_task_, hidden);
}

std::optional<WorkerRuntime::Reply> WorkerRuntime::Request(
    absl::FunctionRef<void(rpc::FromWorker::Builder, RequestId)> write,
    absl::FunctionRef<bool(const Reply&)> complete) {
  RequestId request = 0;
  absl::Status sent = Send([&](rpc::FromWorker::Builder b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(out_mu_) {
    request = ++last_request_;
    replies_.try_emplace(request);  // before it goes: a reader thread may have the reply at once
    write(b, request);
  });
  auto replied = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(out_mu_) {
    return complete(replies_.at(request));
  };
  bool closed = !sent.ok();
  if (!threaded_) {
    while (!closed) {
      {
        absl::MutexLock lock(&out_mu_);
        if (replied()) break;
      }
      closed = !ReceiveWhileBlocked();
    }
  }
  absl::MutexLock lock(&out_mu_);
  while (!closed && !replied()) {
    closed = connection_closed_;
    if (!closed) reply_cv_.Wait(&out_mu_);
  }
  auto entry = replies_.extract(request);
  if (closed) return std::nullopt;
  return std::move(entry.mapped());
}

absl::StatusOr<std::vector<ObjectValue>> WorkerRuntime::Get(std::span<const ObjectID> ids,
                                                            absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;  // an infinite timeout gives InfiniteFuture
  if (ids.size() > rpc::MAX_IDS_PER_LIST) {           // more than a request carries: in parts
    std::vector<ObjectValue> values;
    for (size_t from = 0; from < ids.size(); from += rpc::MAX_IDS_PER_LIST) {
      size_t count = std::min<size_t>(rpc::MAX_IDS_PER_LIST, ids.size() - from);
      auto part =
          Get(ids.subspan(from, count), std::max(deadline - absl::Now(), absl::ZeroDuration()));
      if (!part.ok()) return part.status();
      std::move(part->begin(), part->end(), std::back_inserter(values));
    }
    return values;
  }
  std::vector<ObjectValue> values(ids.size());
  std::vector<size_t> missing;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto local = store_->TryGet(ids[i]);
    if (local && local->ok()) {
      values[i] = ValueOf(**std::move(local));
    } else {
      missing.push_back(i);
    }
  }
  if (missing.empty()) return values;
  // Ask the scheduler; this task is blocked meanwhile and its CPUs go back to the pool, so the
  // tasks queued behind it go back too.
  HandBackQueue();
  std::vector<ObjectID> asked;
  asked.reserve(missing.size());
  for (size_t i : missing) asked.push_back(ids[i]);
  // The reply may come in several messages: one object per ID asked for.
  std::optional<Reply> replied = Request(
      [&](rpc::FromWorker::Builder b, RequestId request) {
        WriteGetRequest(b, request, asked, TimeoutMs(deadline - absl::Now()));
      },
      [&](const Reply& r) { return r.get_failed || r.objects.size() >= missing.size(); });
  if (!replied) return ConnectionClosed();
  if (replied->get_failed) return absl::DeadlineExceededError(*replied->get_failed);
  absl::flat_hash_map<ObjectID, const ReplyObject*> reply;
  for (const ReplyObject& object : replied->objects) reply.emplace(object.object.id, &object);
  std::vector<ObjectID> from_store;
  std::vector<object_manager::ObjectSource> copies;  // those only other nodes hold
  for (size_t i : missing) {
    auto it = reply.find(ids[i]);
    if (it == reply.end()) return absl::InternalError("the scheduler's reply misses an object");
    if (const ObjectView& object = it->second->object; !object.in_store) {
      values[i] = {{reinterpret_cast<const uint8_t*>(object.value.data()), object.value.size()},
                   it->second->message};
    } else {
      from_store.push_back(ids[i]);
      if (!object.source.empty()) copies.push_back({ids[i], std::string(object.source)});
    }
  }
  if (absl::Status copied = CopyHere(copies, /*for_get=*/true); !copied.ok()) return copied;
  if (!from_store.empty()) {
    // The rest of the timeout (each exists: a seal may still be on its way).
    absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
    auto stored = ReadStoredObjects(*store_, from_store, left);
    if (!stored.ok()) return stored.status();
    size_t next = 0;
    for (size_t i : missing) {
      if (reply.at(ids[i])->object.in_store) values[i] = std::move((*stored)[next++]);
    }
  }
  return values;
}

absl::StatusOr<WaitIndices> WorkerRuntime::Wait(std::span<const ObjectID> ids, size_t num_returns,
                                                absl::Duration timeout) {
  if (absl::Status count = CheckIdCount(ids.size(), "a wait"); !count.ok()) return count;
  HandBackQueue();
  std::optional<Reply> replied = Request(
      [&](rpc::FromWorker::Builder b, RequestId request) {
        WriteWaitRequest(b, request, ids, num_returns, TimeoutMs(timeout));
      },
      [](const Reply& r) { return r.ready.has_value(); });
  if (!replied) return ConnectionClosed();
  const absl::flat_hash_set<ObjectID> ready(replied->ready->begin(), replied->ready->end());
  WaitIndices result;
  for (size_t i = 0; i < ids.size(); ++i) {
    (ready.contains(ids[i]) && result.ready.size() < num_returns ? result.ready : result.not_ready)
        .push_back(i);
  }
  return result;
}

absl::StatusOr<std::vector<ObjectID>> WorkerRuntime::CheckClientArgs(
    std::span<const TaskArg> args) {
  uint64_t bytes = 0;
  for (const TaskArg& arg : args) {
    if (!arg.ref.IsNil()) {
      return absl::InvalidArgumentError(
          "an argument by reference cannot go to another scheduler (its value must)");
    }
    bytes += arg.value.size();
  }
  if (bytes > kMaxClientArgBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the arguments of a call of another driver's actor take ", bytes,
                     " bytes; at most ", kMaxClientArgBytes, " go in one message"));
  }
  return std::vector<ObjectID>();
}

absl::Status WorkerRuntime::StartClient(uint32_t job) {
  client_ = true;
  threaded_ = true;  // replies come through the reader thread
  {
    absl::MutexLock lock(&current_mu_);
    current_task_ = TaskID::ForJob(job);
  }
  absl::Status hello = Send([](rpc::FromWorker::Builder b) {
    b.setPid(getpid());
    b.setClient(true);
  });
  if (!hello.ok()) return ConnectionClosed();
  client_reader_ = std::thread([this] {
    while (Receive(absl::InfiniteDuration(), /*blocked=*/false).ok()) {
    }
    absl::MutexLock lock(&out_mu_);
    connection_closed_ = true;
    reply_cv_.SignalAll();
  });
  return absl::OkStatus();
}

absl::Status WorkerRuntime::KillActor(const ObjectID& actor, bool no_restart) {
  absl::MutexLock lock(&out_mu_);
  (no_restart ? out_.kill_actors : out_.restart_actors).push_back(actor);
  if (!SendLocked().ok()) return ConnectionClosed();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<CoreRuntime::NamedActor>> WorkerRuntime::LookupActor(
    const std::string& name) {
  std::optional<Reply> replied = Request(
      [&](rpc::FromWorker::Builder b, RequestId request) { WriteLookupRequest(b, request, name); },
      [](const Reply& r) { return r.actor.has_value(); });
  if (!replied) return ConnectionClosed();
  NamedActor found = *std::move(replied->actor);
  if (found.id.IsNil()) return std::nullopt;
  absl::MutexLock lock(&out_mu_);
  refs_[found.id] += 1;  // the scheduler counted it for this process: the caller adopts it
  return found;
}

absl::Status WorkerRuntime::ActorExiting(const ObjectID& actor) {
  absl::MutexLock lock(&out_mu_);
  out_.exiting_actors.push_back(actor);
  if (!SendLocked().ok()) return ConnectionClosed();
  return absl::OkStatus();
}

absl::Status WorkerRuntime::CopyHere(std::span<const object_manager::ObjectSource> objects,
                                     bool for_get) {
  if (objects.empty()) return absl::OkStatus();
  if (!remote_.copy) {
    return absl::FailedPreconditionError("this worker cannot copy objects from other nodes");
  }
  std::vector<absl::Status> copied = remote_.copy(objects, for_get);
  {
    absl::MutexLock lock(&out_mu_);
    for (size_t i = 0; i < objects.size(); ++i) {
      if (copied[i].ok()) out_.copied.push_back(objects[i].id);
    }
  }
  return FirstCopyFailure(objects, copied);
}

void WorkerRuntime::AddRef(const ObjectID& id) {
  absl::MutexLock lock(&out_mu_);
  AddRefLocked(id);
}

void WorkerRuntime::AddRefLocked(const ObjectID& id) {
  if (refs_[id]++ == 0) out_.add_refs.push_back(id);
}

void WorkerRuntime::RemoveRef(const ObjectID& id) {
  absl::MutexLock lock(&out_mu_);
  RemoveRefLocked(id);
}

void WorkerRuntime::RemoveRefLocked(const ObjectID& id) {
  auto it = refs_.find(id);
  if (it == refs_.end()) return;
  if (--it->second == 0) {
    refs_.erase(it);
    out_.remove_refs.push_back(id);
  }
}

}  // namespace ray::core::worker_internal
