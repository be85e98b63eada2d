#include "ray/rpc/object_parts.h"

#include "ray/common/capnp_bytes.h"

namespace ray::core {
namespace {

void WriteIdAndRefs(rpc::Object::Builder out, const ObjectID& id,
                    std::span<const ObjectID> nested_refs) {
  out.setId(AsData(id.Binary()));
  if (!nested_refs.empty()) WriteIdList(out.initNestedRefs(nested_refs.size()), nested_refs);
}

}  // namespace

void WriteObject(rpc::Object::Builder out, const ObjectID& id, std::string_view value,
                 std::span<const ObjectID> nested_refs) {
  WriteIdAndRefs(out, id, nested_refs);
  out.setValue(AsData(value));
}

void WriteStoredObject(rpc::Object::Builder out, const ObjectID& id, uint64_t size,
                       std::span<const ObjectID> nested_refs, std::string_view source) {
  WriteIdAndRefs(out, id, nested_refs);
  out.setInStore(size);
  if (!source.empty()) out.setSource({source.data(), source.size()});
}

absl::Status CheckObject(rpc::Object::Reader in) {
  if (!in.hasId()) return absl::InvalidArgumentError("an object without an ID");
  if (absl::Status s = CheckId<ObjectID>(in.getId()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("id: ", s.message()));
  }
  if (in.isValue()) {
    (void)in.getValue();  // any bytes, but within the message
  } else if (!in.isInStore()) {
    return absl::InvalidArgumentError("an object neither inline nor in the store");
  }
  if (in.hasSource()) (void)in.getSource();  // Cap'n Proto checks its bounds and NUL
  if (!in.hasNestedRefs()) return absl::OkStatus();
  return IdList<ObjectID>::Check(in.getNestedRefs(), "nestedRefs");
}

ObjectView ReadObject(rpc::Object::Reader in) {
  ObjectView object;
  object.id = ReadId<ObjectID>(in.getId());
  if (in.isValue()) {
    object.value = AsView(in.getValue());
    object.size = object.value.size();
  } else {
    object.in_store = true;
    object.size = in.getInStore();
  }
  if (in.hasNestedRefs()) object.nested_refs = IdList<ObjectID>(in.getNestedRefs());
  if (in.hasSource()) object.source = TextView(in.getSource());
  return object;
}

capnp::List<rpc::Object>::Builder WriteTaskDone(rpc::TaskDone::Builder out, const TaskID& task,
                                                int64_t started_ns, int64_t finished_ns,
                                                size_t num_returns) {
  out.setTaskId(AsData(task.Binary()));
  out.setStartedNs(started_ns);
  out.setFinishedNs(finished_ns);
  return out.initReturns(num_returns);
}

absl::Status CheckTaskDone(rpc::TaskDone::Reader in) {
  if (absl::Status s = CheckId<TaskID>(in.getTaskId()); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("taskId: ", s.message()));
  }
  return ObjectList::Check(in.getReturns(), "returns");
}

TaskDoneView ReadTaskDone(rpc::TaskDone::Reader in) {
  return {ReadId<TaskID>(in.getTaskId()), ObjectList(in.getReturns()), in.getStartedNs(),
          in.getFinishedNs()};
}

}  // namespace ray::core
