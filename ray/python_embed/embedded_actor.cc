#include "ray/python_embed/embedded_actor.h"

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "ray/core_worker/actor_instance.h"
#include "ray/object/msgpack_object.h"
#include "ray/python_embed/embedded_call.h"
#include "ray/python_embed/msgpack_python.h"
#include "ray/python_embed/py_ref.h"

extern "C" __attribute__((noinline, used, visibility("default"))) void RayPyActorTask() {
  asm volatile("");
}

namespace ray::python {
namespace {

using embedded::Error;
using embedded::PythonError;

// The object a Python actor's ActorInstance holds.
struct PyActorObject {
  PyActorObject(PyObject* owned, std::string class_name)
      : instance(owned), name(std::move(class_name)) {}
  PyActorObject(const PyActorObject&) = delete;
  PyActorObject& operator=(const PyActorObject&) = delete;
  ~PyActorObject() {
    PyGILState_STATE gil = PyGILState_Ensure();
    Py_DECREF(instance);  // __del__ runs now if this was the last reference
    embedded::FlushOutput();
    PyGILState_Release(gil);
  }

  PyObject* instance;
  std::string name;  // "module.Class"
};

// Instantiates module.Class(args...); the GIL held.
PyObject* Instantiate(const std::string& module_name, const std::string& class_name,
                      std::span<const core::ObjectValue> args,
                      std::optional<TaskErrorInfo>* error) {
  const std::string name = module_name + "." + class_name;
  PyRef module(PyImport_ImportModule(module_name.c_str()));
  PyRef cls(module ? PyObject_GetAttrString(module.get(), class_name.c_str()) : nullptr);
  if (!cls) {
    *error = PythonError(name, "");
    return nullptr;
  }
  if (!PyType_Check(cls.get())) {
    *error = Error(name, "TypeError",
                   name + " is not a class (it is a " + PythonTypeName(cls.get()) + ")");
    return nullptr;
  }
  return embedded::CallWithObjects(name, cls.get(), args, error);
}

// Calls object.method(args...), named `name` in errors; the GIL held.
std::optional<TaskErrorInfo> CallMethod(const PyActorObject& object, const std::string& method,
                                        const std::string& name,
                                        std::span<const core::ObjectValue> args,
                                        std::span<const ResultCheck> checks,
                                        std::vector<std::string>* results) {
  PyRef bound(PyObject_GetAttrString(object.instance, method.c_str()));
  if (!bound) return PythonError(name, "");
  if (!PyCallable_Check(bound.get())) {
    return Error(name, "TypeError",
                 name + " is not a method (it is a " + PythonTypeName(bound.get()) + ")");
  }
  return embedded::CallAndConvert(name, bound.get(), args, checks, results);
}

}  // namespace

std::string SerializePyMethod(std::string_view method) { return SerializeMsgpack(method); }

absl::Status CreatePyActor(std::span<const core::ObjectValue> args, const std::string& type,
                           const ObjectID& actor) {
  absl::StatusOr<std::pair<std::string, std::string>> call =
      embedded::ReadPyCall(args, "ray::PyActorClass: the creation does not name a class: ");
  if (!call.ok()) return call.status();
  const auto& [module, cls] = *call;
  const std::string name = module + "." + cls;
  std::optional<TaskErrorInfo> error = embedded::StartError(name);
  if (error) return TaskFailure(*error);
  PyGILState_STATE gil = PyGILState_Ensure();
  PyObject* instance = Instantiate(module, cls, args.subspan(1), &error);
  embedded::FlushOutput();
  PyGILState_Release(gil);
  if (instance == nullptr) return TaskFailure(*error);
  core::SetActorInstance(std::make_shared<PyActorObject>(instance, name), type, actor);
  return absl::OkStatus();
}

absl::Status RunPyActorMethod(std::span<const core::ObjectValue> args, const std::string& type,
                              std::span<const ResultCheck> checks, core::ReturnWriter& returns) {
  const core::ActorInstance* actor = core::CurrentActorInstance();
  if (actor == nullptr || actor->type != type) {
    return absl::FailedPreconditionError(
        "a call of a Python actor's method on a process that serves " +
        (actor == nullptr ? std::string("no actor") : "a " + actor->type));
  }
  auto method = args.empty()
                    ? absl::StatusOr<std::string>(absl::InvalidArgumentError("no arguments"))
                    : DeserializeMsgpack<std::string>(args[0].bytes);
  if (!method.ok()) {
    return absl::InvalidArgumentError("ray::PyActorMethod: the call does not name a method: " +
                                      std::string(method.status().message()));
  }
  const auto* object = static_cast<const PyActorObject*>(actor->object.get());
  const std::string name = object->name + "." + *method;
  std::vector<std::string> results;
  PyGILState_STATE gil = PyGILState_Ensure();
  std::optional<TaskErrorInfo> error =
      CallMethod(*object, *method, name, args.subspan(1), checks, &results);
  embedded::FlushOutput();
  PyGILState_Release(gil);
  if (error) return TaskFailure(*error);
  return embedded::WriteResults(name, checks, results, returns);
}

}  // namespace ray::python
