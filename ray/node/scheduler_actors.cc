// Actors: a creation task runs the factory on a worker of the actor's own; its calls then run
// there, in the order they became ready, pipelined into the worker's queue. The worker runs
// nothing else. When it dies the actor restarts (its creation runs again on a new worker, calls
// wait meanwhile) while max_restarts allows, else its calls fail with ActorDiedError. The actor
// ends, its worker told to stop (its destructor runs there), once nothing references its
// handle's object and its calls are done.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "ray/node/scheduler.h"
#include "ray/node/scheduler_internal.h"
#include "ray/object/status.h"

namespace ray::core {

using namespace scheduler_internal;  // NOLINT: the scheduler's own helpers

namespace {

// Calls sent to an actor's worker and not done, at most (as DispatchPolicy's queue per worker).
constexpr size_t kActorPipelineDepth = 64;

}  // namespace

std::shared_ptr<const std::string> Scheduler::SubmitActorTask(TaskRecord& task) {
  if (task.creates_actor) {
    const ObjectID id = ObjectID::ForReturn(task.id, 1);  // the handle's object
    Actor& actor = actors_[id];
    actor.id = id;
    objects_.Watch(id);  // its last handle freed: DispatchActors ends it, or forgets it
    const std::string& name = task.creates_actor->name;
    if (auto taken = actor_names_.find(name); !name.empty() && taken != actor_names_.end()) {
      actor.death =
          absl::StrCat("the actor name '", name, "' is taken (by actor ", taken->second.Hex(), ")");
    } else if (task.creates_actor->detached && foreign_.forward_call) {
      actor.death =
          "in a cluster a detached actor is made by the driver (the cluster's actor host owns "
          "it), not by a task";
    }
    if (!actor.death.empty()) {  // never made: its calls fail saying why
      actor.state = Actor::State::kDead;
      return ErrorObject(NameOf(task), kActorDiedErrorType, actor.death, task.id);
    }
    if (!name.empty()) actor_names_[name] = id;
    actor.options = *task.creates_actor;
    actor.holds_itself = actor.options.detached && objects_.AddRef(id);
    actor.restarts_left = actor.options.max_restarts;
    actor.creation = task;
    // Kept for a restart: the arguments stay while the actor may need them again.
    for (const auto& arg : actor.creation.args) {
      if (!arg.ref.IsNil()) objects_.AddRef(arg.ref);
    }
    objects_.AddRefs(actor.creation.nested_refs);
    return nullptr;
  }
  // A call keeps its actor alive until it ends (released with its nested references).
  if (objects_.AddRef(task.actor)) task.nested_refs.push_back(task.actor);
  auto it = actors_.find(task.actor);
  task.num_cpus = 0;  // a call holds what its actor holds
  task.resources.clear();
  if (it == actors_.end()) {
    if (foreign_actors_.contains(task.actor) && foreign_.forward_call) return nullptr;
    return ErrorObject(NameOf(task), kActorDiedErrorType,
                       absl::StrCat("no actor ", task.actor.Hex(), " here"), task.id);
  }
  task.retries_left = it->second.options.max_task_retries;
  if (it->second.state == Actor::State::kDead) return ActorDiedErrorFor(task, it->second);
  return nullptr;
}

std::shared_ptr<const std::string> Scheduler::ActorDiedErrorFor(const TaskRecord& call,
                                                                const Actor& actor) const {
  return ErrorObject(NameOf(call), kActorDiedErrorType,
                     absl::StrCat("the actor ", actor.id.Hex(), " is dead: ", actor.death),
                     call.id);
}

bool Scheduler::MakeActorTaskReady(TaskRecord& task) {
  if (task.creates_actor) {
    Actor& actor = actors_.at(ObjectID::ForReturn(task.id, 1));
    actor.creation_ready = true;
    MarkActor(actor);
    return true;
  }
  if (task.actor.IsNil()) return false;
  auto found = actors_.find(task.actor);
  if (found == actors_.end()) {  // another scheduler's (SubmitActorTask let no other through)
    if (foreign_.forward_call) {
      foreign_.forward_call(task, functions_.at(task.function_key));
    } else {
      FailTask(task, ErrorObject(NameOf(task), kActorDiedErrorType,
                                 "the driver left the cluster: the actor's owner is out of reach",
                                 task.id));
    }
    return true;
  }
  Actor& actor = found->second;
  if (actor.state == Actor::State::kDead) {
    FailTask(task, ActorDiedErrorFor(task, actor));
  } else {
    actor.ready.push_back(task.id);
    MarkActor(actor);
  }
  return true;
}

void Scheduler::MarkActor(Actor& actor) {
  if (actor.to_visit) return;
  actor.to_visit = true;
  actors_to_visit_.push_back(actor.id);
}

void Scheduler::MarkActor(const ObjectID& id) {
  if (auto it = actors_.find(id); it != actors_.end()) MarkActor(it->second);
}

void Scheduler::DispatchActors() {
  // An actor that ends lets go of the handles its process held: the actors whose last handles
  // those were end in the same turn (before, at the next event, however late that came).
  do {
    for (const ObjectID& freed : objects_.TakeFreedWatched()) {  // an actor's last handle
      if (foreign_actors_.erase(freed) == 0) MarkActor(freed);
    }
    if (actors_.empty()) return;
    std::vector<ObjectID> visiting = std::exchange(actors_to_visit_, {});
    for (const ObjectID& id : visiting) {
      auto it = actors_.find(id);
      if (it == actors_.end()) continue;
      Actor& actor = it->second;
      actor.to_visit = false;
      // One still waiting to be made is looked at again next time (CPUs, a worker may be there).
      if (VisitActor(actor) && actor.state == Actor::State::kWaiting && actor.creation_ready) {
        MarkActor(actor);
      }
    }
  } while (objects_.HasFreedWatched());
}

bool Scheduler::VisitActor(Actor& actor) {
  if (actor.state == Actor::State::kDead) {
    // Kept while a handle may still call it (the calls fail saying why) or its lost worker's
    // tasks wait to fail.
    if (objects_.Contains(actor.id) || actor.lost_pending) return true;
    objects_.Unwatch(actor.id);
    actors_.erase(actor.id);
    return false;
  }
  if (actor.state == Actor::State::kWaiting && actor.creation_ready) {
    if (actor.node < 0 && !PlaceActor(actor)) return true;
    if (actor.worker < 0 && (actor.worker = ActorWorkerFor(actor)) < 0) return true;
    Worker& worker = *workers_[actor.worker];
    worker.actor = actor.id;
    workers_.Unpool(worker);
    actor.state = Actor::State::kCreating;
    TaskRecord* creation = tasks_.Find(actor.creation.id);
    if (creation == nullptr) {  // a restart: the first run ended; this one runs the copy
      creation = &*tasks_.Add(TaskRecord(actor.creation)).first;
      for (const auto& arg : creation->args) {
        if (!arg.ref.IsNil()) objects_.AddUse(arg.ref, creation->id);
      }
      objects_.AddRefs(creation->nested_refs);
    }
    creation->actor_restart = actor.restarted;
    worker.MoveTo(Worker::State::kBusy);  // on what the actor holds (the worker holds nothing)
    Assign(worker, *creation);
    return true;
  }
  if (actor.state != Actor::State::kAlive) return true;
  Worker& worker = *workers_[actor.worker];
  if (actor.ready.empty()) {
    // Nobody references its handle any more and its calls are done: it ends.
    if (!objects_.Contains(actor.id) && worker.assigned.empty()) {
      ActorDied(actor, "it ended (no handle to it is left)");
      WorkerDied(worker, "its actor ended", /*kill=*/false);  // it exits when its socket closes
    }
    return true;
  }
  // A bounded pipeline: calls past it wait here and go out in batches as earlier ones end
  // (one message for many, as tasks queued behind a worker's do).
  // An actor with call threads gets at least as many calls as it runs at once.
  const size_t depth = std::max(kActorPipelineDepth, static_cast<size_t>(worker.concurrency));
  while (!actor.ready.empty() && worker.assigned.size() < depth) {
    TaskRecord* call = tasks_.Find(actor.ready.front());
    actor.ready.pop_front();
    if (call == nullptr) continue;
    if (absl::Status fitted = FitArgumentsInline(*call); !fitted.ok()) {
      FailTask(*call, ErrorObject(NameOf(*call), ErrorTypeName(fitted.code()),
                                  absl::StrCat("an argument could not be copied to the store "
                                               "for its worker: ",
                                               fitted.message()),
                                  call->id));
      continue;
    }
    if (worker.state == Worker::State::kIdle) worker.MoveTo(Worker::State::kBusy);
    Assign(worker, *call);
  }
  if (worker.concurrency > 1) SettleWaiting(worker);  // a call started: it runs
  return true;
}

bool Scheduler::PlaceActor(Actor& actor) {
  FillNodeViews();
  const double asked = std::max(1.0, actor.options.num_cpus);  // while its creation runs
  Placement placement =
      placement_.Place({.cpus = asked, .custom = actor.creation.resources}, node_views_);
  if (placement.kind == Placement::Kind::kInfeasible) {
    if (InfeasibleForGood(actor.infeasible_wait)) {
      ActorDied(actor, absl::StrCat("it cannot run: ", placement.missing));
    }
    return false;
  }
  if (placement.kind == Placement::Kind::kWait) return false;
  actor.node = placement.node;
  Node& node = nodes_[actor.node];
  actor.cpus_held = PlacementPolicy::CpusOn(asked, node.info.num_cpus);
  node.cpus_free -= actor.cpus_held;
  actor.resources_held = actor.creation.resources;
  for (const auto& [name, amount] : actor.resources_held) node.custom_free[name] -= amount;
  return true;
}

int Scheduler::ActorWorkerFor(Actor& actor) {
  if (actor.node == 0) {
    int index = -1;
    if (absl::Status spawned = SpawnWorker(0, &index); !spawned.ok()) {
      ActorDied(actor, absl::StrCat("its worker could not start: ", spawned.message()));
    }
    return index;
  }
  if (!actor.worker_asked) {  // ClaimNewWorker hands it the node's next new worker
    if (!hooks_.start_workers) {
      ActorDied(actor, "its worker could not start: the driver left the cluster");
      return -1;
    }
    AskWorkers(actor.node, 1);
    nodes_[actor.node].actors_waiting.push_back(actor.id);
    actor.worker_asked = true;
  }
  return -1;
}

void Scheduler::ClaimNewWorker(Worker& worker) {
  Node& node = nodes_[worker.node];
  while (!node.actors_waiting.empty()) {
    auto it = actors_.find(node.actors_waiting.front());
    node.actors_waiting.pop_front();
    if (it == actors_.end()) continue;
    Actor& actor = it->second;
    if (actor.state != Actor::State::kWaiting || !actor.worker_asked || actor.node != worker.node ||
        actor.worker >= 0) {
      continue;  // placed elsewhere meanwhile, or dead
    }
    actor.worker_asked = false;
    actor.worker = worker.index;
    worker.actor = actor.id;
    workers_.Unpool(worker);
    MarkActor(actor);
    return;
  }
}

void Scheduler::ReleaseActorResources(Actor& actor) {
  if (actor.node < 0) return;
  MarkActor(actor);  // placed again, or ended
  Node& node = nodes_[actor.node];
  node.cpus_free += actor.cpus_held;
  for (const auto& [name, amount] : actor.resources_held) node.custom_free[name] += amount;
  actor.cpus_held = 0;
  actor.resources_held.clear();
  actor.node = -1;
  actor.worker_asked = false;
}

void Scheduler::ActorTaskFinished(Worker& worker, const TaskRecord& task, bool failed) {
  if (!task.creates_actor) return;
  Actor& actor = actors_.at(worker.actor);
  if (failed) {
    std::string why = "its factory failed";
    const ReferenceTable::Entry* made = objects_.Find(ObjectID::ForReturn(task.id, 1));
    if (made != nullptr && made->value != nullptr) {  // the error, inline
      auto error = DeserializeError(
          {reinterpret_cast<const uint8_t*>(made->value->data()), made->value->size()});
      if (error.ok()) absl::StrAppend(&why, ": ", error->exception_type, ": ", error->message);
    }
    ActorDied(actor, why);
    WorkerDied(worker, "its actor's factory failed", /*kill=*/false);
    return;
  }
  actor.state = Actor::State::kAlive;
  worker.concurrency = std::max(1, actor.options.max_concurrency);  // its calls from now on
  Node& node = nodes_[actor.node];  // its creation's CPUs go back, but for those it keeps
  const double kept = PlacementPolicy::CpusOn(actor.options.num_cpus, node.info.num_cpus);
  node.cpus_free += actor.cpus_held - kept;
  actor.cpus_held = kept;
}

void Scheduler::ActorWorkerLost(Worker& worker, const std::string& why) {
  auto it = actors_.find(worker.actor);
  if (it == actors_.end()) return;
  Actor& actor = it->second;
  MarkActor(actor);
  ReleaseActorResources(actor);
  actor.worker = -1;
  actor.lost_pending = !worker.lost_tasks.empty();
  if (actor.state == Actor::State::kDead) return;     // it ended, or its factory failed
  if (actor.state == Actor::State::kWaiting) return;  // lost before its creation: placed again
  const std::string death = absl::StrCat("its process (pid ", worker.pid, ") died: ", why);
  if (actor.restarts_left == 0) {
    ActorDied(actor, death);
    return;
  }
  if (actor.restarts_left > 0) --actor.restarts_left;
  actor.restarted = true;
  actor.state = Actor::State::kWaiting;
  // It starts again once what the lost worker held is back in its queue, in order.
  actor.creation_ready = !actor.lost_pending;
}

void Scheduler::ActorWorkerEnded(Worker& worker, std::deque<TaskID> lost) {
  auto it = actors_.find(worker.actor);
  if (it == actors_.end()) return;
  Actor& actor = it->second;
  MarkActor(actor);
  actor.lost_pending = false;
  if (actor.state == Actor::State::kDead) {
    for (const TaskID& id : lost) {
      if (TaskRecord* task = tasks_.Find(id)) FailTask(*task, ActorDiedErrorFor(*task, actor));
    }
    return;
  }
  // The calls it held go back in front, in order: the running one uses a retry, those queued
  // (never started) do not. Its creation, if it was running, runs again.
  for (size_t i = lost.size(); i-- > 0;) {
    TaskRecord* task = tasks_.Find(lost[i]);
    if (task == nullptr) continue;
    task->worker = -1;
    if (task->creates_actor) continue;
    if (i < worker.lost_running && task->retries_left-- == 0) {
      for (int r = 1; r <= task->num_returns; ++r) {
        objects_.QueueStoreDelete(ObjectID::ForReturn(task->id, r));
      }
      FailTask(*task,
               ErrorObject(NameOf(*task), kActorDiedErrorType,
                           absl::StrCat("the actor ", actor.id.Hex(), " died while running it (",
                                        worker.lost_why, "); no retries left (max_task_retries)"),
                           task->id));
      continue;
    }
    actor.ready.push_front(task->id);
  }
  actor.creation_ready = true;
}

void Scheduler::ConcurrentCallFinished(Worker& worker, const TaskID& id) {
  auto done = std::find(worker.assigned.begin(), worker.assigned.end(), id);
  const bool was_running = done - worker.assigned.begin() < worker.concurrency;
  worker.assigned.erase(done);
  // Its call thread takes the first queued call: that one starts now.
  const size_t window = static_cast<size_t>(worker.concurrency);
  if (was_running && worker.assigned.size() >= window) {
    RecordCallStart(worker, worker.assigned[window - 1]);
  }
  // Calls hold no CPUs of their own (their actor holds them): the worker is idle once no call
  // runs and no request waits, else blocked if each call left waits (Worker::Waits).
  SettleWaiting(worker);
}

void Scheduler::ActorDied(Actor& actor, const std::string& why) {
  if (actor.state == Actor::State::kDead) return;
  actor.state = Actor::State::kDead;
  MarkActor(actor);  // forgotten once no handle is left
  FreeName(actor);
  if (actor.death.empty()) actor.death = why;
  if (actor.worker < 0) ReleaseActorResources(actor);  // else once its worker is lost
  // A creation that never ran (or waits to run again) fails: the handle's object says why.
  if (TaskRecord* creation = tasks_.Find(actor.creation.id);
      creation != nullptr && creation->worker < 0) {
    FailTask(*creation, ActorDiedErrorFor(*creation, actor));
  }
  for (const TaskID& id : std::exchange(actor.ready, {})) {
    if (TaskRecord* task = tasks_.Find(id)) FailTask(*task, ActorDiedErrorFor(*task, actor));
  }
  for (const auto& arg : actor.creation.args) {
    if (!arg.ref.IsNil()) objects_.RemoveRef(arg.ref);
  }
  objects_.RemoveRefs(actor.creation.nested_refs);
  actor.creation.args.clear();
  actor.creation.nested_refs.clear();
  if (std::exchange(actor.holds_itself, false)) objects_.RemoveRef(actor.id);
}

absl::Status Scheduler::KillActor(const ObjectID& id, bool no_restart) {
  absl::MutexLock lock(&mu_);
  absl::Status killed = KillActorLocked(id, no_restart);
  Dispatch();
  FlushWorkers();
  return killed;
}

void Scheduler::KillFromWorker(const ObjectID& id, bool no_restart) {
  if (foreign_actors_.contains(id) && foreign_.kill) return foreign_.kill(id, no_restart);
  if (absl::Status killed = KillActorLocked(id, no_restart); !killed.ok()) {
    fprintf(stderr, "ray: a task's kill did nothing: %s\n", std::string(killed.message()).c_str());
  }
}

std::optional<std::pair<ObjectID, std::string>> Scheduler::LookupActor(const std::string& name) {
  absl::MutexLock lock(&mu_);
  return LookupActorLocked(name);
}

std::optional<std::pair<ObjectID, std::string>> Scheduler::LookupActorLocked(
    const std::string& name) {
  auto named = actor_names_.find(name);
  if (named == actor_names_.end() || !objects_.AddRef(named->second)) return std::nullopt;
  return std::make_pair(named->second, actors_.at(named->second).options.type);
}

void Scheduler::SetForeignHooks(ForeignHooks hooks) {
  absl::MutexLock lock(&mu_);
  foreign_ = std::move(hooks);
}

void Scheduler::ForeignLookupDone(int index, uint64_t request,
                                  std::optional<std::pair<ObjectID, std::string>> found) {
  absl::MutexLock lock(&mu_);
  Worker* worker = index < static_cast<int>(workers_.size()) ? workers_[index].get() : nullptr;
  if (worker == nullptr || worker->state == Worker::State::kDead || worker->broken) {
    if (found) objects_.RemoveRef(found->first);
    return;
  }
  AnswerLookup(*worker, request, std::move(found));
  FlushWorkers();
}

void Scheduler::AddForeignActor(const ObjectID& actor) {
  absl::MutexLock lock(&mu_);
  if (foreign_actors_.insert(actor).second) objects_.Watch(actor);  // forgotten with its handle
}

bool Scheduler::IsForeignActor(const ObjectID& actor) {
  absl::MutexLock lock(&mu_);
  return foreign_actors_.contains(actor);
}

void Scheduler::ForeignCallDone(const TaskID& id, std::vector<ForeignReturn> returns) {
  {
    absl::MutexLock lock(&mu_);
    TaskRecord* call = tasks_.Find(id);
    if (call == nullptr) return;
    const size_t count = std::min(returns.size(), static_cast<size_t>(call->num_returns));
    const bool failed = count > 0 && IsErrorValue(returns.front().value);
    for (size_t i = 0; i < count; ++i) {
      ObjectReady(ObjectID::ForReturn(id, static_cast<uint32_t>(i + 1)),
                  std::move(returns[i].value), returns[i].size);
    }
    if (graph_ != nullptr) graph_->OnFinish(id, failed, absl::Now());
    EndTask(id);
    Dispatch();
    FlushWorkers();
  }
  Wake();  // a driver thread polling meanwhile looks again
}

void Scheduler::ActorExiting(const ObjectID& id) {
  auto it = actors_.find(id);
  if (it == actors_.end()) return;
  it->second.restarts_left = 0;  // its worker ends after this call: for good
  if (it->second.death.empty()) it->second.death = "it exited (ray::ExitActor)";
  // Its caller learns of the exit (the call fails) before the worker is gone: the name is free
  // by then, and a lookup no longer finds it.
  FreeName(it->second);
}

void Scheduler::FreeName(const Actor& actor) {
  if (auto named = actor_names_.find(actor.options.name);
      named != actor_names_.end() && named->second == actor.id) {
    actor_names_.erase(named);
  }
}

absl::Status Scheduler::KillActorLocked(const ObjectID& id, bool no_restart) {
  auto it = actors_.find(id);
  if (it == actors_.end()) return absl::NotFoundError(absl::StrCat("no actor ", id.Hex()));
  Actor& actor = it->second;
  MarkActor(actor);
  if (no_restart) {
    actor.restarts_left = 0;
    if (actor.death.empty()) actor.death = "killed by ray::Kill";
  }
  if (actor.state == Actor::State::kWaiting) {  // not made yet: no process of it to kill
    if (no_restart) {
      if (actor.worker >= 0) workers_[actor.worker]->actor = ObjectID();  // back to the pool
      actor.worker = -1;
      ActorDied(actor, actor.death);
    }
    return absl::OkStatus();
  }
  if (actor.worker >= 0) {
    WorkerDied(*workers_[actor.worker], "killed by ray::Kill");
  } else if (no_restart && actor.state != Actor::State::kDead) {
    ActorDied(actor, actor.death);
  }
  return absl::OkStatus();
}

}  // namespace ray::core
