// ObjectIDs as the Python extension holds them: one counted reference each (core_runtime.h's
// adopt convention), and the IDs a pickled value references.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ray/common/id.h"
#include "ray/core_worker/core_runtime.h"

namespace ray::python {

namespace py = pybind11;

class PyObjectID {
 public:
  // Takes over the reference Submit / Put counted for the caller. `task_name`: the name of the
  // task whose result this is (interned, see InternName), if known.
  static PyObjectID Adopt(const ObjectID& id, const std::string* task_name = nullptr) {
    PyObjectID r;
    r.id_ = id;
    r.task_name_ = task_name;
    if (core::CurrentRuntime() != nullptr) r.epoch_ = core::CurrentRuntimeEpoch();
    return r;
  }
  // Counts a new reference (an ID unpickled or copied in this process).
  static PyObjectID Acquire(const ObjectID& id) {
    PyObjectID r;
    r.id_ = id;
    if (core::CoreRuntime* runtime = core::CurrentRuntime(); runtime != nullptr && !id.IsNil()) {
      runtime->AddRef(id);
      r.epoch_ = core::CurrentRuntimeEpoch();
    }
    return r;
  }
  PyObjectID() = default;
  PyObjectID(const PyObjectID&) = delete;
  PyObjectID& operator=(const PyObjectID&) = delete;
  PyObjectID(PyObjectID&& other) noexcept
      : id_(other.id_), epoch_(std::exchange(other.epoch_, 0)), task_name_(other.task_name_) {}
  ~PyObjectID() {
    if (epoch_ != 0 && epoch_ == core::CurrentRuntimeEpoch()) {
      if (core::CoreRuntime* runtime = core::CurrentRuntime()) runtime->RemoveRef(id_);
    }
  }

  const ObjectID& id() const { return id_; }
  std::string task_name() const { return task_name_ != nullptr ? *task_name_ : std::string(); }

 private:
  ObjectID id_;
  uint64_t epoch_ = 0;  // the runtime epoch the reference was counted in; 0: none
  const std::string* task_name_ = nullptr;
};

// The one copy of a task name that every ObjectID of its results points to: names are few (one
// per remote function), and IDs many. Called with the GIL held; leaked.
const std::string* InternName(const std::string& name);

// Calls `pickle` (which pickles a value); returns what it returns and the IDs of the ObjectIDs
// pickled meanwhile (RecordPickledId), as 24-byte binaries end to end.
py::tuple CollectIds(const py::object& pickle);
// An ObjectID is being pickled on this thread: CollectIds, if it runs, lists it.
void RecordPickledId(const ObjectID& id);
// The IDs CollectIds gave.
std::vector<ObjectID> NestedIds(const py::bytes& binaries);

}  // namespace ray::python
