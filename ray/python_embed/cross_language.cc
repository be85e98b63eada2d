#include "ray/python_embed/cross_language.h"

#include <dirent.h>
#include <dlfcn.h>
#include <pybind11/stl.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ray/core_worker/function_registry.h"
#include "ray/core_worker/limits.h"
#include "ray/python_embed/cpp_actors.h"
#include "ray/python_embed/object_python.h"
#include "ray/python_embed/python_objects.h"

namespace py = pybind11;

namespace ray::python {
namespace {

struct Library {
  std::string path;
  void* handle;
  std::vector<std::string> names;
};

struct CppFunction {
  core::RegisteredFunction entry;
  size_t library;  // index into State::libraries
};

// Leaked on purpose: loaded libraries are never closed, and workers (forks) inherit all of it.
struct State {
  RayletAccess raylet;
  std::vector<Library> libraries;
  std::map<std::string, CppFunction> functions;
};
State* state = nullptr;

// Loads the library at `path`; a library without a RAY_REMOTE table is an error if `required`
// (named by the caller), else skipped.
void Load(const std::string& path, bool required) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr)
    RaiseText(PyExc_OSError, "ray.init: cannot load " + path + ": " + dlerror());
  for (const Library& library : state->libraries) {
    if (library.handle == handle) return;  // loaded before (dlopen counts it once more)
  }
  // A library of another libray is refused before its table is read. It stays loaded (it
  // cannot be closed safely once its initializers ran); the process goes on.
  absl::StatusOr<std::span<const core::RegisteredFunction>> entries =
      core::ReadRegisteredFunctions(handle, path);
  if (!entries.ok()) {
    RaiseText(PyExc_ValueError, "ray.init: " + std::string(entries.status().message()));
  }
  if (entries->empty()) {
    if (!required) return;  // stays loaded: it may be another library's dependency
    RaiseText(PyExc_ValueError, "ray.init: " + path +
                                    " registers no C++ functions (use RAY_REMOTE(f) from "
                                    "ray/api.h in it, and link it with //ray)");
  }
  // The library's functions use this module's runtime for their ray calls, and its actor state.
  if (auto use_runtime =
          reinterpret_cast<core::UseRuntimeOfFunction>(dlsym(handle, core::kUseRuntimeOfSymbol))) {
    use_runtime(&core::CurrentRuntime, &core::CurrentRuntimeEpoch, &core::ThisNodeId,
                core::ThisActorState());
  }
  Library library{path, handle, {}};
  const size_t index = state->libraries.size();
  std::map<std::string, CppFunction> added;
  for (const core::RegisteredFunction& e : *entries) {
    auto [it, inserted] = added.emplace(e.name, CppFunction{e, index});
    if (!inserted && it->second.entry.function == e.function) continue;  // registered twice
    auto before = state->functions.find(e.name);
    if (!inserted || before != state->functions.end()) {
      const std::string other = inserted ? state->libraries[before->second.library].path : path;
      RaiseText(PyExc_ValueError, "ray.init: two C++ functions are registered as \"" +
                                      std::string(e.name) + "\": in " + other + " and in " + path);
    }
    library.names.push_back(e.name);
  }
  state->functions.merge(added);
  state->libraries.push_back(std::move(library));
}

// Loads each path: a shared library, or a folder whose *.so files are loaded (in name order).
void LoadLibraries(const std::vector<std::string>& paths) {
  if (core::CurrentRuntime() != nullptr) {
    RaiseText(PyExc_RuntimeError,
              "C++ libraries load in ray.init(code_search_path=...), before the workers start");
  }
  for (const std::string& path : paths) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      RaiseText(PyExc_FileNotFoundError,
                "ray.init: code_search_path: no such file or folder: " + path);
    }
    if (!S_ISDIR(st.st_mode)) {
      Load(path, /*required=*/true);
      continue;
    }
    std::vector<std::string> files;
    if (DIR* dir = opendir(path.c_str())) {
      while (dirent* e = readdir(dir)) {
        std::string name = e->d_name;
        if (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0) {
          files.push_back(path + "/" + name);
        }
      }
      closedir(dir);
    }
    std::sort(files.begin(), files.end());
    for (const std::string& file : files) Load(file, /*required=*/false);
  }
}

}  // namespace

const core::RegisteredFunction* FindCpp(const std::string& name) {
  auto it = state->functions.find(name);
  return it != state->functions.end() ? &it->second.entry : nullptr;
}

std::vector<const core::RegisteredFunction*> LoadedCpp() {
  std::vector<const core::RegisteredFunction*> out;
  for (const auto& [name, function] : state->functions) out.push_back(&function.entry);
  return out;
}

std::string NotFoundMessage(const std::string& what) {
  std::string message = what;
  if (state->libraries.empty()) {
    message +=
        ": no C++ library is loaded (pass ray.init(code_search_path=[...]) a shared "
        "library that registers functions with RAY_REMOTE)";
  }
  for (size_t i = 0; i < state->libraries.size(); ++i) {
    const Library& library = state->libraries[i];
    message += (i == 0 ? " in the loaded libraries: " : "; ") + library.path + " (";
    for (size_t k = 0; k < library.names.size(); ++k) {
      message += (k == 0 ? "" : ", ") + library.names[k];
    }
    message += ")";
  }
  return message;
}

void AppendCppArgs(const std::string& call, const py::list& args, const py::list& nested,
                   core::TaskSpec* spec) {
  for (py::handle id : nested) {
    if (std::optional<ObjectID> held = state->raylet.object_id(id)) {
      spec->nested_refs.push_back(*held);
    }
  }
  std::vector<core::TaskArg>* out = &spec->args;
  for (size_t i = 0; i < args.size(); ++i) {
    core::TaskArg arg;
    if (std::optional<ObjectID> id = state->raylet.object_id(args[i])) {
      arg.ref = *id;
    } else if (!PythonToObject(args[i].ptr(), &arg.value)) {
      // The conversion's error, with the call and the argument in front: the same type when it
      // is one that takes a message, else a TypeError; the original is its __cause__.
      PyObject *type, *value, *traceback;
      PyErr_Fetch(&type, &value, &traceback);
      PyErr_NormalizeException(&type, &value, &traceback);
      const bool takes_message =
          type == PyExc_TypeError || type == PyExc_ValueError || type == PyExc_OverflowError;
      PyErr_Format(takes_message ? type : PyExc_TypeError, "%U.remote: argument %zu: %S",
                   Text(call).ptr(), i, value);
      PyObject *wrapped_type, *wrapped, *wrapped_traceback;
      PyErr_Fetch(&wrapped_type, &wrapped, &wrapped_traceback);
      PyErr_NormalizeException(&wrapped_type, &wrapped, &wrapped_traceback);
      PyException_SetCause(wrapped, value);  // takes over `value`
      PyErr_Restore(wrapped_type, wrapped, wrapped_traceback);
      Py_XDECREF(type);
      Py_XDECREF(traceback);
      throw py::error_already_set();
    }
    out->push_back(std::move(arg));
  }
}

py::object SubmitRegistered(const core::RegisteredFunction& f, const std::string& call,
                            core::SubmitOptions options, const py::list& args,
                            const py::list& nested,
                            const std::function<void(core::TaskSpec&)>& prepare) {
  if (args.size() != f.num_args) {
    RaiseText(PyExc_TypeError, call + " takes " + std::to_string(f.num_args) + " argument" +
                                   (f.num_args == 1 ? "" : "s") + ", " +
                                   std::to_string(args.size()) + " given");
  }
  if (absl::Status status = core::CheckSubmitOptions(&options); !status.ok()) {
    RaiseText(PyExc_ValueError, call + ": " + std::string(status.message()));
  }
  core::TaskSpec spec;
  spec.invoker = f.invoker;
  spec.function = f.function;
  spec.options = std::move(options);
  if (f.first_arg_size > 0) {  // a method's (ray_remote.h)
    spec.args.push_back(core::TaskArg{ObjectID(), std::string(f.first_arg, f.first_arg_size)});
  }
  if (prepare) prepare(spec);
  AppendCppArgs(call, args, nested, &spec);
  return state->raylet.submit(std::move(spec));
}

namespace {

const core::RegisteredFunction& FindFunction(const std::string& name) {
  const core::RegisteredFunction* f = FindCpp(name);
  if (f == nullptr) {
    RaiseText(PyExc_ValueError,
              NotFoundMessage("ray.cpp_function: no C++ function named \"" + name + "\""));
  }
  if (f->kind == core::RegisteredKind::kActorFactory) {
    RaiseText(PyExc_ValueError, "ray.cpp_function(\"" + name +
                                    "\"): it is the factory of actor class " + f->actor_type +
                                    ": use ray.cpp_actor_class(\"" + name + "\", ...)");
  }
  if (f->kind == core::RegisteredKind::kMethod) {
    RaiseText(PyExc_ValueError, "ray.cpp_function(\"" + name +
                                    "\"): it is a method: call it on an actor of its class");
  }
  return *f;
}

py::object SubmitCpp(const std::string& name, const py::list& args, int num_returns,
                     double num_cpus, int max_retries, ResourceAmounts resources,
                     const py::list& nested) {
  const core::RegisteredFunction& f = FindFunction(name);
  const std::string call = "ray.cpp_function(\"" + name + "\")";
  if (num_returns != 0 && num_returns != static_cast<int>(f.num_returns)) {
    RaiseText(PyExc_ValueError, call + ": num_returns=" + std::to_string(num_returns) +
                                    ", but the function returns " + std::to_string(f.num_returns));
  }
  return SubmitRegistered(f, call,
                          {.num_returns = static_cast<int>(f.num_returns),
                           .num_cpus = num_cpus,
                           .max_retries = max_retries,
                           .name = name,  // the graph shows the registered name
                           .resources = std::move(resources)},
                          args, nested);
}

}  // namespace

void RegisterCrossLanguage(py::module_& m, RayletAccess raylet) {
  if (state == nullptr) state = new State;
  state->raylet = std::move(raylet);
  m.def("load_libraries", &LoadLibraries, py::arg("paths"));
  m.def("cpp_libraries", [] {
    py::list out;
    for (const Library& library : state->libraries) {
      out.append(py::make_tuple(library.path, library.names));
    }
    return out;
  });
  m.def("submit_cpp", &SubmitCpp, py::arg("name"), py::arg("args"), py::arg("num_returns") = 0,
        py::arg("num_cpus") = 1.0, py::arg("max_retries") = 3,
        py::arg("resources") = ResourceAmounts(), py::arg("nested") = py::list());
  RegisterCppActors(m);
  m.def("object_to_python", [](py::handle buffer) {
    PyObject* value = ObjectToPython(state->raylet.object_bytes(buffer));
    if (value == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(value);
  });
}

}  // namespace ray::python
