#include "ray/python_embed/py_object_id.h"

#include <string_view>

#include "absl/container/node_hash_set.h"
#include "ray/python_embed/python_objects.h"

namespace ray::python {

const std::string* InternName(const std::string& name) {
  static auto* const names = new absl::node_hash_set<std::string>;
  return &*names->insert(name).first;
}

// IDs pickled by this thread while CollectIds runs: the objects a value references, which the
// runtime keeps alive as long as the value (PutOptions and TaskSpec nested_refs).
namespace {
thread_local std::vector<ObjectID>* pickled_ids = nullptr;
}  // namespace

void RecordPickledId(const ObjectID& id) {
  if (pickled_ids != nullptr) pickled_ids->push_back(id);
}

py::tuple CollectIds(const py::object& pickle) {
  std::vector<ObjectID> ids;
  std::vector<ObjectID>* outer = std::exchange(pickled_ids, &ids);
  py::object result;
  try {
    result = pickle();
  } catch (...) {
    pickled_ids = outer;
    throw;
  }
  pickled_ids = outer;
  std::string binaries;
  for (const ObjectID& id : ids) binaries.append(id.Binary());
  return py::make_tuple(result, py::bytes(binaries));
}

std::vector<ObjectID> NestedIds(const py::bytes& binaries) {
  std::string_view all = BytesView(binaries);
  std::vector<ObjectID> ids;
  for (size_t at = 0; at + ObjectID::kSize <= all.size(); at += ObjectID::kSize) {
    ObjectID id;
    if (ObjectID::FromBinary(all.substr(at, ObjectID::kSize), &id)) ids.push_back(id);
  }
  return ids;
}

}  // namespace ray::python
