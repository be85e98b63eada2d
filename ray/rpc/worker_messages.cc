#include "ray/rpc/worker_messages.h"

#include "absl/strings/str_cat.h"

namespace ray::core {
namespace {

// Moves a part read into `out`, or gives its error.
template <typename T>
absl::Status Assign(absl::StatusOr<T> part, T& out) {
  if (!part.ok()) return part.status();
  out = *std::move(part);
  return absl::OkStatus();
}

absl::Status Malformed(const char* what, const absl::Status& why) {
  return absl::InvalidArgumentError(absl::StrCat("malformed ", what, ": ", why.message()));
}

}  // namespace

void WriteGetRequest(rpc::FromWorker::Builder out, RequestId request, std::span<const ObjectID> ids,
                     int64_t timeout_ms) {
  auto get = out.initGet();
  get.setRequestId(request);
  WriteIdList(get.initIds(ids.size()), ids);
  get.setTimeoutMs(timeout_ms);
}

void WriteWaitRequest(rpc::FromWorker::Builder out, RequestId request,
                      std::span<const ObjectID> ids, uint32_t num_returns, int64_t timeout_ms) {
  auto wait = out.initWait();
  wait.setRequestId(request);
  WriteIdList(wait.initIds(ids.size()), ids);
  wait.setNumReturns(num_returns);
  wait.setTimeoutMs(timeout_ms);
}

void WriteLookupRequest(rpc::FromWorker::Builder out, RequestId request, std::string_view name) {
  out.setLookupActor({name.data(), name.size()});
  out.setLookupRequestId(request);
}

absl::StatusOr<FromWorkerView> ReadFromWorker(rpc::FromWorker::Reader in) {
  return Guarded("message from a worker", [&]() -> absl::StatusOr<FromWorkerView> {
    FromWorkerView view;
    view.pid = in.getPid();
    if (in.hasNodeId()) view.node_id = TextView(in.getNodeId());
    view.client = in.getClient();
    absl::Status s = Assign(ReadFunctionDefs(in.getFunctions()), view.functions);
    if (s.ok()) s = Assign(ObjectList::Read(in.getPuts(), "puts"), view.puts);
    if (s.ok()) s = Assign(TaskList::Read(in.getSubmits(), "submits"), view.submits);
    if (s.ok()) s = Assign(IdList<ObjectID>::Read(in.getAddRefs(), "addRefs"), view.add_refs);
    if (s.ok()) s = Assign(TaskDoneList::Read(in.getDone(), "done"), view.done);
    if (s.ok()) {
      s = Assign(IdList<ObjectID>::Read(in.getRemoveRefs(), "removeRefs"), view.remove_refs);
    }
    if (s.ok()) {
      s = Assign(IdList<TaskID>::Read(in.getHandedBack(), "handedBack"), view.handed_back);
    }
    if (s.ok()) s = Assign(IdList<ObjectID>::Read(in.getCopied(), "copied"), view.copied);
    if (s.ok()) {
      s = Assign(IdList<ObjectID>::Read(in.getKillActors(), "killActors"), view.kill_actors);
    }
    if (s.ok()) {
      s = Assign(IdList<ObjectID>::Read(in.getRestartActors(), "restartActors"),
                 view.restart_actors);
    }
    if (s.ok()) {
      s = Assign(IdList<ObjectID>::Read(in.getExitingActors(), "exitingActors"),
                 view.exiting_actors);
    }
    if (in.hasLookupActor()) {
      view.lookup_actor = {.request = in.getLookupRequestId(),
                           .name = TextView(in.getLookupActor())};
    }
    if (s.ok() && in.hasGet()) {
      auto get = in.getGet();
      view.get.emplace().timeout_ms = get.getTimeoutMs();
      view.get->request = get.getRequestId();
      s = Assign(IdList<ObjectID>::Read(get.getIds(), "get.ids"), view.get->ids);
    }
    if (s.ok() && in.hasWait()) {
      auto wait = in.getWait();
      WaitRequestView& request = view.wait.emplace();
      request.request = wait.getRequestId();
      request.num_returns = wait.getNumReturns();
      request.timeout_ms = wait.getTimeoutMs();
      s = Assign(IdList<ObjectID>::Read(wait.getIds(), "wait.ids"), request.ids);
    }
    if (!s.ok()) return Malformed("message from a worker", s);
    return view;
  });
}

absl::StatusOr<ToWorkerView> ReadToWorker(rpc::ToWorker::Reader in) {
  return Guarded("message to a worker", [&]() -> absl::StatusOr<ToWorkerView> {
    ToWorkerView view;
    absl::Status s = Assign(ReadFunctionDefs(in.getFunctions()), view.functions);
    if (s.ok()) s = Assign(TaskList::Read(in.getTasks(), "tasks"), view.tasks);
    if (s.ok()) s = Assign(ObjectList::Read(in.getObjects(), "objects"), view.objects);
    if (s.ok() && in.hasReady()) {
      s = Assign(IdList<ObjectID>::Read(in.getReady(), "ready"), view.ready.emplace());
    }
    if (!s.ok()) return Malformed("message to a worker", s);
    if (in.hasGetFailed()) view.get_failed = TextView(in.getGetFailed());  // checked as it is read
    view.return_queued = in.getReturnQueued();
    view.reply_to = in.getReplyTo();
    if (in.hasActor()) {
      auto actor = in.getActor();
      ToWorkerView::ActorFound& found = view.actor.emplace();
      if (actor.hasId()) {
        if (absl::Status id = CheckId<ObjectID>(actor.getId()); !id.ok()) {
          return Malformed("message to a worker", id);
        }
        found.id = ReadId<ObjectID>(actor.getId());
      }
      if (actor.hasType()) found.type = TextView(actor.getType());
    }
    return view;
  });
}

}  // namespace ray::core
