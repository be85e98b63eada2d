// A worker's blocking requests: gets and waits wait in Worker::pending (each named by the ID its
// request carried) until their objects exist or their deadline passes, and each reply names its
// request; a lookup is answered at once, or once another scheduler answered it. While it waits,
// a worker is kBlocked (its CPUs back in the pool): a worker running one task when that task
// waits, an actor's worker with call threads when each of its running calls waits.
#include "absl/strings/str_cat.h"
#include "ray/common/actor_options.h"
#include "ray/node/scheduler.h"
#include "ray/node/scheduler_internal.h"
#include "ray/rpc/worker_messages.h"

namespace ray::core {

using namespace scheduler_internal;  // NOLINT: the scheduler's own helpers

namespace {

// A worker's gets and waits in flight at most: one per call thread of the most concurrent actor,
// and room to spare for a client's threads. Past it a worker is not well (or hostile): dropped.
constexpr size_t kMaxRequestsInFlight = kMaxActorConcurrency + 1024;

}  // namespace

absl::Status Scheduler::AddRequest(Worker& worker, const FromWorkerView& in) {
  if (worker.pending.size() >= kMaxRequestsInFlight) {
    return absl::ResourceExhaustedError(absl::StrCat("it sent more than ", kMaxRequestsInFlight,
                                                     " gets and waits that wait at once"));
  }
  const bool is_wait = in.wait.has_value();
  Worker::Pending& pending = worker.pending.emplace_back();
  pending.request = is_wait ? in.wait->request : in.get->request;
  pending.ids = is_wait ? in.wait->ids.ToVector() : in.get->ids.ToVector();
  int64_t timeout_ms = is_wait ? in.wait->timeout_ms : in.get->timeout_ms;
  if (timeout_ms >= 0) pending.deadline = absl::Now() + absl::Milliseconds(timeout_ms);
  pending.is_wait = is_wait;
  if (is_wait) pending.num_returns = in.wait->num_returns;
  pending.waiter = std::make_unique<ObjectWaiter>(
      objects_, pending.ids,
      is_wait ? std::min<size_t>(pending.num_returns, pending.ids.size()) : pending.ids.size());
  SettleWaiting(worker);
  return absl::OkStatus();
}

void Scheduler::ServeBlockedWorkers(bool expire) {
  const absl::Time now = absl::Now();
  for (auto& w : workers_) {
    Worker& worker = *w;
    if (worker.pending.empty() || worker.state == Worker::State::kDead) continue;
    const size_t before = worker.pending.size();
    std::erase_if(worker.pending, [&](const Worker::Pending& pending) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                                      mu_) { return Answer(worker, pending, expire, now); });
    if (worker.pending.size() != before) SettleWaiting(worker);
  }
}

bool Scheduler::Answer(Worker& worker, const Worker::Pending& pending, bool expire,
                       absl::Time now) {
  const bool satisfied = pending.waiter->satisfied();
  if (!satisfied && !(expire && now >= pending.deadline)) return false;
  WorkerConnection::Reply& reply =
      OutboxOf(worker).replies.emplace_back(WorkerConnection::Reply{pending.request});
  if (pending.is_wait) {
    std::vector<ObjectID> ready_ids;
    for (const ObjectID& id : pending.ids) {
      if (objects_.ReadyOrGone(id)) ready_ids.push_back(id);
    }
    reply.ready = std::move(ready_ids);
  } else if (!satisfied) {
    reply.get_failed = "timed out waiting for objects";
  } else {
    for (const ObjectID& id : pending.ids) {
      if (const ReferenceTable::Entry* entry = objects_.Find(id); entry != nullptr) {
        reply.objects.push_back(
            {id, entry->value, entry->size,
             entry->value == nullptr ? std::string(SourceFor(id, worker.reader_node())) : ""});
      } else {  // freed, or never made: the get fails at once, as for the driver
        auto error = MissingObjectError(id);
        reply.objects.push_back({id, error, error->size()});
      }
    }
  }
  return true;
}

void Scheduler::SettleWaiting(Worker& worker) {
  using State = Worker::State;
  // An idle worker (a client: it runs nothing) and a dead one stay as they are.
  if (worker.state != State::kBusy && worker.state != State::kBlocked) return;
  if (worker.concurrency > 1 && worker.assigned.empty() && worker.pending.empty()) {
    ReleaseResources(worker);
    worker.MoveTo(State::kIdle);
    worker.idle_since = absl::Now();
    return;
  }
  const bool waits = worker.Waits();
  if (waits == (worker.state == State::kBlocked)) return;
  worker.MoveTo(waits ? State::kBlocked : State::kBusy);
  // Its CPUs go back to the pool while it waits, and it takes them again when it runs.
  nodes_[worker.node].cpus_free += waits ? worker.cpus_held : -worker.cpus_held;
}

void Scheduler::AnswerLookup(Worker& worker, uint64_t request,
                             std::optional<std::pair<ObjectID, std::string>> found) {
  if (found && !worker.held.insert(found->first).second) objects_.RemoveRef(found->first);
  OutboxOf(worker).replies.push_back(
      {.request = request,
       .actor = found ? *std::move(found) : std::make_pair(ObjectID(), std::string())});
}

}  // namespace ray::core
