#include "ray/rpc/task_parts.h"

#include <cmath>

#include "ray/common/capnp_bytes.h"

namespace ray::core {

absl::Status CheckArg(rpc::Arg::Reader in) {
  if (in.isValue()) {
    (void)in.getValue();  // any bytes, but within the message (Cap'n Proto checks that)
    return absl::OkStatus();
  }
  if (!in.isRef()) return absl::InvalidArgumentError("an argument neither a value nor a ref");
  capnp::Data::Reader ref = in.getRef();
  if (absl::Status s = CheckId<ObjectID>(ref); !s.ok()) return s;
  if (ReadId<ObjectID>(ref).IsNil()) return absl::InvalidArgumentError("a ref to no object");
  if (in.hasSource()) (void)in.getSource();  // Cap'n Proto checks its bounds and NUL
  return absl::OkStatus();
}

void WriteTask(rpc::Task::Builder out, const TaskHeader& task, size_t num_args,
               absl::FunctionRef<ArgView(size_t)> arg, std::span<const ObjectID> nested_refs,
               const ResourceAmounts& resources) {
  out.setTaskId(AsData(task.id.Binary()));
  out.setParentTaskId(AsData(task.parent.Binary()));
  out.setFunction(task.function);
  out.setNumReturns(task.num_returns);
  out.setNumCpus(task.num_cpus);
  out.setMaxRetries(task.max_retries);
  if (!task.name.empty()) out.setName({task.name.data(), task.name.size()});
  if (task.run_while_blocked) out.setRunWhileBlocked(true);
  if (!task.actor.IsNil()) out.setActor(AsData(task.actor.Binary()));
  if (task.actor_restart) out.setActorRestart(true);
  if (task.creates_actor) {
    auto actor = out.initCreatesActor();
    actor.setMaxRestarts(task.creates_actor->max_restarts);
    actor.setMaxTaskRetries(task.creates_actor->max_task_retries);
    actor.setMaxConcurrency(task.creates_actor->max_concurrency);
    actor.setNumCpus(task.creates_actor->num_cpus);
    if (!task.creates_actor->name.empty()) actor.setName(task.creates_actor->name);
    if (!task.creates_actor->type.empty()) actor.setType(task.creates_actor->type);
    if (task.creates_actor->detached) actor.setDetached(true);
  }
  if (!nested_refs.empty()) WriteIdList(out.initNestedRefs(nested_refs.size()), nested_refs);
  if (!resources.empty()) {
    auto list = out.initResources(resources.size());
    for (size_t i = 0; i < resources.size(); ++i) {
      list[i].setName(resources[i].first);
      list[i].setAmount(resources[i].second);
    }
  }
  auto args = out.initArgs(num_args);
  for (size_t i = 0; i < num_args; ++i) {
    ArgView a = arg(i);
    if (a.ref.IsNil()) {
      args[i].setValue(AsData(a.value));
    } else {
      args[i].setRef(AsData(a.ref.Binary()));
      if (!a.source.empty()) args[i].setSource({a.source.data(), a.source.size()});
    }
  }
}

ArgView ReadArg(rpc::Arg::Reader in) {
  if (in.isRef()) {
    return {ReadId<ObjectID>(in.getRef()), {}, in.hasSource() ? TextView(in.getSource()) : ""};
  }
  return {ObjectID(), AsView(in.getValue()), {}};
}

absl::Status CheckTask(rpc::Task::Reader in) {
  if (!in.hasTaskId()) return absl::InvalidArgumentError("a task without an ID");
  if (absl::Status s = CheckId<TaskID>(in.getTaskId()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("taskId: ", s.message()));
  }
  if (absl::Status s = CheckId<TaskID>(in.getParentTaskId()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("parentTaskId: ", s.message()));
  }
  if (in.hasName()) (void)in.getName();  // Cap'n Proto checks its bounds and NUL
  if (in.hasActor()) {
    if (absl::Status s = CheckId<ObjectID>(in.getActor()); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("actor: ", s.message()));
    }
  }
  if (in.hasCreatesActor()) {
    auto actor = in.getCreatesActor();
    if (actor.getMaxRestarts() < -1 || actor.getMaxTaskRetries() < -1 ||
        actor.getMaxConcurrency() < 1 || !std::isfinite(actor.getNumCpus()) ||
        actor.getNumCpus() < 0) {
      return absl::InvalidArgumentError("an actor's options out of range");
    }
    if (actor.hasName()) (void)actor.getName();  // Cap'n Proto checks its bounds and NUL
    if (actor.hasType()) (void)actor.getType();
  }
  if (absl::Status s = ArgList::Check(in.getArgs(), "args"); !s.ok()) {
    return s;
  }
  if (in.hasResources()) {
    auto resources = in.getResources();
    if (resources.size() > kMaxTaskResourcesOnWire) {
      return absl::InvalidArgumentError(
          absl::StrCat("a task asks for more than ", kMaxTaskResourcesOnWire, " resources"));
    }
    for (auto resource : resources) {
      double amount = resource.getAmount();
      if (!resource.hasName() || resource.getName().size() == 0 || !std::isfinite(amount) ||
          amount <= 0) {
        return absl::InvalidArgumentError("a resource without a name or a positive amount");
      }
    }
  }
  if (!in.hasNestedRefs()) return absl::OkStatus();
  return IdList<ObjectID>::Check(in.getNestedRefs(), "nestedRefs");
}

TaskView ReadTask(rpc::Task::Reader in) {
  TaskView task;
  TaskHeader& h = task.header;
  h.id = ReadId<TaskID>(in.getTaskId());
  h.parent = ReadId<TaskID>(in.getParentTaskId());
  h.function = in.getFunction();
  h.num_returns = in.getNumReturns();
  h.num_cpus = in.getNumCpus();
  h.max_retries = in.getMaxRetries();
  if (in.hasName()) h.name = TextView(in.getName());
  h.run_while_blocked = in.getRunWhileBlocked();
  if (in.hasActor()) h.actor = ReadId<ObjectID>(in.getActor());
  h.actor_restart = in.getActorRestart();
  if (in.hasCreatesActor()) {
    auto actor = in.getCreatesActor();
    h.creates_actor = std::make_shared<const ActorOptions>(
        ActorOptions{.max_restarts = actor.getMaxRestarts(),
                     .max_task_retries = actor.getMaxTaskRetries(),
                     .max_concurrency = actor.getMaxConcurrency(),
                     .num_cpus = actor.getNumCpus(),
                     .name = std::string(TextView(actor.getName())),
                     .type = std::string(TextView(actor.getType())),
                     .detached = actor.getDetached()});
  }
  task.args = ArgList(in.getArgs());
  if (in.hasNestedRefs()) task.nested_refs = IdList<ObjectID>(in.getNestedRefs());
  if (in.hasResources()) {
    for (auto resource : in.getResources()) {
      task.resources.emplace_back(TextView(resource.getName()), resource.getAmount());
    }
  }
  return task;
}

}  // namespace ray::core
