// The CPython extension module `ray._raylet`: the Python package's bridge to the core runtime
// (ray/core_worker/core_runtime.h). The Python side (python/ray/) pickles values and functions;
// this module stores them as kPickle objects (ray/object/object_format.h), submits tasks and reads
// objects back, and runs Python tasks in workers.
//
// How Python tasks run. Every Python task has the same (invoker, function) pair: InvokePython
// and the marker function RayPythonTask, both in this module. Workers are forks of the driver
// (ray/core_worker/driver_runtime.h), so this module is loaded in them at the same build-id and the
// pair resolves there. The task's first argument is the pickled Python function (an object put
// once per process), the second a small pickled call description, the rest the call's
// arguments; InvokePython hands them all to the Python executor that python/ray registers with
// set_task_executor, and writes what it returns (an async actor's call it hands to the actor's
// event loop instead, and returns: deferred_calls_python.h). On another node of a cluster, a
// worker is a fresh interpreter that the node started (python/ray/_remote_worker.py) and that
// imported this same file: run_remote_worker() hands it to the runtime there
// (ray/core_worker/remote_worker.h).
//
// The GIL. init() keeps the GIL while the session (ray/core_worker/session.h) forks the zygote, so
// the zygote, and every worker it forks later, starts as a copy of a thread that holds the GIL with
// its thread state current. The first task in a worker calls PyOS_AfterFork_Child (the
// interpreter's own after-fork fixups: GIL and thread states remade, os.register_at_fork
// hooks) and from then on the worker's one thread holds the GIL for good. In the driver, calls
// that may block (Get, Wait, Submit, Put, Shutdown) release the GIL; the runtime's threads
// never touch Python. In a worker the GIL stays held across runtime calls (the GIL serializes any
// Python threads a task may start), unless its actor runs calls on threads of their own
// (call_threads_python.h): its main thread lets go of the GIL, each call thread takes it for its
// call, and calls that may block release it as in the driver. A remote worker is no fork: it
// holds the GIL from run_remote_worker() on (the interpreter's own process).
#include <Python.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/node_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ray/cluster/node_table.h"
#include "ray/common/id.h"
#include "ray/core_worker/call_threads.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/driver_runtime.h"
#include "ray/core_worker/limits.h"
#include "ray/core_worker/remote_worker.h"
#include "ray/core_worker/runtime_gate.h"
#include "ray/core_worker/session.h"
#include "ray/object/object_format.h"
#include "ray/object/status.h"
#include "ray/observability/task_graph.h"
#include "ray/python_embed/actor_functions.h"
#include "ray/python_embed/call_threads_python.h"
#include "ray/python_embed/cross_language.h"
#include "ray/python_embed/deferred_calls_python.h"
#include "ray/python_embed/pickle_layout.h"
#include "ray/python_embed/py_object_id.h"
#include "ray/python_embed/python_objects.h"

namespace py = pybind11;

// Names every Python task (its address, resolved in workers like any C++ remote function).
// Shown as the function in the computation graph.
extern "C" __attribute__((noinline, used, visibility("default"))) void RayPythonTask() {
  asm volatile("");
}

namespace ray::python {
namespace {

using core::CoreRuntime;
using core::ObjectValue;
using core::ReturnWriter;

// The Python function that runs a task (python/ray/_executor.py: _execute_task).
py::object* task_executor = nullptr;

// True in the driver: while the session ray.init started (ray/core_worker/session.h) is open
// in this process (a forked copy of this module, a worker, never shuts it down).
bool InDriver() { return core::InSession(); }

// The driver's node (store, scheduler, workers); null outside the driver and in local mode.
core::DriverRuntime* Node() { return core::SessionNode(); }

// Returns f(), called without the GIL in the driver and in a worker whose calls run on threads of
// their own (see the top of the file), with it elsewhere. The GIL is taken back in plain code, not
// in a destructor (as py::gil_scoped_release does): at interpreter exit CPython ends a daemon
// thread that takes the GIL by unwinding it (pthread_exit), and that unwinding must not pass
// through a destructor (std::terminate).
template <typename F>
auto WithoutGil(F&& f) -> decltype(f()) {
  using Result = decltype(f());
  if (!InDriver() && !core::CallsOnThreads()) return f();
  PyThreadState* state = PyEval_SaveThread();
  std::exception_ptr failure;
  std::optional<std::conditional_t<std::is_void_v<Result>, bool, Result>> result;
  try {
    if constexpr (std::is_void_v<Result>) {
      f();
    } else {
      result.emplace(f());
    }
  } catch (...) {
    failure = std::current_exception();
  }
  PyEval_RestoreThread(state);
  if (failure) std::rethrow_exception(failure);
  if constexpr (!std::is_void_v<Result>) return *std::move(result);
}

// Calls f(node) without the GIL, as a call through the runtime's gate (shutdown() from another
// thread waits for it to return); does nothing outside the driver, in local mode or once shut
// down.
void OnNode(absl::FunctionRef<void(core::DriverRuntime&)> f) {
  core::DriverRuntime* node = Node();  // the gate's runtime: alive while a call is inside
  if (node == nullptr) return;
  core::RuntimeGate* gate = core::SessionGate();
  WithoutGil([&] {
    (void)gate->Call([&](CoreRuntime&) { f(*node); });  // fails if shut down meanwhile
  });
}

CoreRuntime& Runtime() {
  CoreRuntime* runtime = core::CurrentRuntime();
  if (runtime == nullptr) RaisePython("RayError", "ray is not initialized: call ray.init() first");
  return *runtime;
}

absl::Duration Timeout(std::optional<double> seconds) {
  if (!seconds.has_value()) return absl::InfiniteDuration();
  return absl::Seconds(std::max(0.0, *seconds));
}

// ---------------------------------------------------------------------------------------------
// Tasks

// Runs a Python task in a worker (the Invoker of every Python task; see the top of the file).
absl::Status InvokePython(const void* /*function*/, std::span<const ObjectValue> args,
                          ReturnWriter& returns) {
  if (DeferToActorLoop(args)) return absl::OkStatus();      // an async actor's: no GIL taken here
  if (!core::CallsOnThreads()) TakeInterpreterAfterFork();  // done before call threads start
  TaskGil gil;
  try {
    if (task_executor == nullptr) throw std::runtime_error("no Python task executor registered");
    py::list buffers;
    for (const ObjectValue& arg : args) buffers.append(ToPython(arg));
    return WriteOutcome((*task_executor)(buffers), returns);
  } catch (py::error_already_set& e) {
    return ExecutorFailure(e);  // the executor's own (it reports the task's as a dict)
  }
}

// Submits a task; the ObjectIDs of its results.
std::vector<PyObjectID> SubmitSpec(core::TaskSpec spec) {
  CoreRuntime& runtime = Runtime();
  const std::string* name = InternName(spec.options.name);
  absl::StatusOr<std::vector<ObjectID>> ids =
      WithoutGil([&] { return runtime.Submit(std::move(spec)); });
  if (!ids.ok()) RaiseStatus(ids.status());
  std::vector<PyObjectID> result;
  result.reserve(ids->size());
  for (const ObjectID& id : *ids) result.push_back(PyObjectID::Adopt(id, name));
  return result;
}

// Stores a pickled value (its parts are held, so without the GIL in the driver).
PyObjectID PutValue(const PickledValue& value, const core::PutOptions& options) {
  CoreRuntime& runtime = Runtime();
  absl::StatusOr<ObjectID> id = WithoutGil([&] {
    return runtime.Put(
        value.size(), [&](std::span<uint8_t> out) { value.Write(out); }, options);
  });
  if (!id.ok()) RaiseStatus(id.status());
  return PyObjectID::Adopt(*id);
}

// A task, an actor's creation (`creates_actor`: actor_functions.h) or a call of `actor`.
std::vector<PyObjectID> Submit(const py::list& args, int num_returns, double num_cpus,
                               int max_retries, const std::string& name, const py::bytes& nested,
                               ResourceAmounts resources, const PyObjectID* actor,
                               std::optional<ActorCreation> creates_actor) {
  core::TaskSpec spec;
  spec.invoker = &InvokePython;
  spec.function = reinterpret_cast<const void*>(&RayPythonTask);
  spec.options = {.num_returns = num_returns,
                  .num_cpus = num_cpus,
                  .max_retries = max_retries,
                  .name = name,
                  .resources = std::move(resources)};
  if (absl::Status status = core::CheckSubmitOptions(&spec.options); !status.ok()) {
    throw py::value_error(name + ": " + std::string(status.message()));
  }
  spec.nested_refs = NestedIds(nested);
  if (actor != nullptr) spec.actor = actor->id();
  if (creates_actor) spec.creates_actor = ToActorOptions(*creates_actor);
  spec.args.reserve(args.size());
  std::vector<PyObjectID> stored;  // large values put for this call; dropped after the submit
  for (py::handle item : args) {
    core::TaskArg arg;
    if (py::isinstance<PyObjectID>(item)) {
      arg.ref = item.cast<const PyObjectID&>().id();
    } else {
      PickledValue value(item, "");
      // A large value goes to the store from its parts, in one copy (the runtime would move a
      // large inline value there too, with one more).
      if (value.size() <= core::kInlineLimit) {
        arg.value = value.ToString();
      } else {
        stored.push_back(PutValue(value, {}));
        arg.ref = stored.back().id();
      }
    }
    spec.args.push_back(std::move(arg));
  }
  return SubmitSpec(std::move(spec));
}

PyObjectID Put(const py::list& parts, const std::string& type_name, bool hidden,
               const py::bytes& nested) {
  return PutValue(PickledValue(parts, type_name),
                  {.hidden = hidden, .nested_refs = NestedIds(nested)});
}

std::vector<ObjectID> Ids(const std::vector<const PyObjectID*>& refs) {
  std::vector<ObjectID> ids;
  ids.reserve(refs.size());
  for (const PyObjectID* ref : refs) {
    if (ref == nullptr) throw py::type_error("expected ObjectIDs, got None");
    ids.push_back(ref->id());
  }
  return ids;
}

// How often a driver blocked in ray.get or ray.wait runs Python's signal handlers: Ctrl-C
// interrupts them with KeyboardInterrupt, as it does any Python call.
constexpr absl::Duration kSignalCheckInterval = absl::Milliseconds(100);

// Calls `wait(timeout)` (without the GIL, in the driver), while Python's signal handlers run
// every kSignalCheckInterval (with the GIL): an exception they raise (KeyboardInterrupt) ends
// the wait and propagates. Returns what `wait` returned.
bool WaitInterruptibly(std::optional<double> timeout,
                       absl::FunctionRef<bool(absl::Duration timeout)> wait) {
  if (!InDriver()) return WithoutGil([&] { return wait(Timeout(timeout)); });
  bool signalled = false;
  bool done = WithoutGil([&] {
    core::ScopedInterruptCheck check(kSignalCheckInterval, [&] {
      py::gil_scoped_acquire gil;
      signalled = PyErr_CheckSignals() != 0;
      return signalled;
    });
    return wait(Timeout(timeout));
  });
  if (signalled) throw py::error_already_set();
  return done;
}

py::list Get(const std::vector<const PyObjectID*>& refs, std::optional<double> timeout) {
  std::vector<ObjectID> ids = Ids(refs);
  CoreRuntime& runtime = Runtime();
  absl::StatusOr<std::vector<ObjectValue>> values;
  WaitInterruptibly(timeout, [&](absl::Duration limit) {
    values = runtime.Get(ids, limit);
    return values.ok();
  });
  if (absl::IsDeadlineExceeded(values.status()) && timeout.has_value()) {
    values = absl::DeadlineExceededError(
        absl::StrCat("ray.get: timed out after ", *timeout, " s waiting for objects"));
  }
  if (!values.ok()) RaiseStatus(values.status());
  py::list result(values->size());
  for (size_t i = 0; i < values->size(); ++i) result[i] = ToPython(std::move((*values)[i]));
  return result;
}

std::pair<std::vector<size_t>, std::vector<size_t>> Wait(const std::vector<const PyObjectID*>& refs,
                                                         size_t num_returns,
                                                         std::optional<double> timeout) {
  std::vector<ObjectID> ids = Ids(refs);
  CoreRuntime& runtime = Runtime();
  absl::StatusOr<core::WaitIndices> result;
  WaitInterruptibly(timeout, [&](absl::Duration limit) {
    result = runtime.Wait(ids, num_returns, limit);
    return result.ok();
  });
  if (!result.ok()) RaiseStatus(result.status());
  return {std::move(result->ready), std::move(result->not_ready)};
}

// ---------------------------------------------------------------------------------------------
// The computation graph (ray/observability/task_graph.h)

core::TaskGraph::Snapshot GraphSnapshot(const char* api) {
  std::optional<core::TaskGraph::Snapshot> snapshot;
  {
    CoreRuntime& runtime = Runtime();
    snapshot = WithoutGil([&] { return runtime.GraphSnapshot(); });
  }
  if (!snapshot && InDriver() && Node() != nullptr) {
    RaisePython("RayError", std::string(api) +
                                ": the computation graph is not recorded "
                                "(ray.init(_record_task_graph=False))");
  }
  if (!snapshot) {
    RaisePython("RayError", std::string(api) + ": only the driver records the computation graph");
  }
  return *std::move(snapshot);
}

void WriteGraph(const std::string& path) {
  const char* api = "ray.visualize_computation_graph";
  core::TaskGraph::Snapshot snapshot = GraphSnapshot(api);
  absl::Status status;
  {
    py::gil_scoped_release release;  // Graphviz may take a while
    status = core::WriteGraph(snapshot, path);
  }
  if (!status.ok())
    RaisePython("RayError", std::string(api) + ": " + std::string(status.message()));
}

std::string TimelineJson() { return core::ToTimelineJson(GraphSnapshot("ray.timeline")); }

// ---------------------------------------------------------------------------------------------
// Init and shutdown

// Starts the session (ray/core_worker/session.h) with every option of ray.init. The GIL stays
// held: the zygote must be a copy of a thread holding it (top of the file). Python shuts down
// from its own atexit hook (python/ray/_worker.py: _shutdown_at_exit), while the interpreter
// lives, not from a C one.
void Init(const core::SessionOptions& options) {
  absl::Status status = core::StartSession(options, core::AtExit::kNothing);
  if (status.ok()) return;
  std::string message = absl::StrCat("ray.init: ", status.message());
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      throw py::value_error(message);
    case absl::StatusCode::kAlreadyExists:
      RaisePython("RayError", message + " (call ray.shutdown() first)");
    default:
      RaisePython("RayError", message);
  }
}

void Shutdown() {
  // Without the GIL: threads blocked in ray.get or ray.wait wake ("ray was shut down") and
  // need it to return. (Taken back in plain code: see WithoutGil.)
  core::ShutdownSession([](absl::FunctionRef<void()> wait) {
    PyThreadState* state = PyEval_SaveThread();
    wait();
    PyEval_RestoreThread(state);
  });
}

}  // namespace
}  // namespace ray::python

PYBIND11_MODULE(_raylet, m) {
  using namespace ray::python;  // NOLINT
  using ray::ObjectID;
  SetUpInterpreterForWorkers();
  m.doc() = "libray's core runtime for the ray Python package";

  py::class_<PyObjectID>(m, "ObjectID")
      .def("hex", [](const PyObjectID& r) { return r.id().Hex(); })
      .def("binary", [](const PyObjectID& r) { return py::bytes(std::string(r.id().Binary())); })
      .def("is_nil", [](const PyObjectID& r) { return r.id().IsNil(); })
      .def("task_name", &PyObjectID::task_name)
      .def("__repr__", [](const PyObjectID& r) { return "ObjectID(" + r.id().Hex() + ")"; })
      .def("__eq__",
           [](const PyObjectID& a, py::object b) {
             return py::isinstance<PyObjectID>(b) && a.id() == b.cast<const PyObjectID&>().id();
           })
      .def("__hash__",
           [](const PyObjectID& r) { return static_cast<py::ssize_t>(r.id().StableHash() >> 2); })
      .def("__copy__", [](const PyObjectID& r) { return PyObjectID::Acquire(r.id()); })
      .def("__deepcopy__",
           [](const PyObjectID& r, py::object) { return PyObjectID::Acquire(r.id()); })
      .def(py::pickle(
          [](const PyObjectID& r) {
            RecordPickledId(r.id());
            return py::bytes(std::string(r.id().Binary()));
          },
          [](const py::bytes& b) {
            ObjectID id;
            if (!ObjectID::FromBinary(BytesView(b), &id)) throw py::value_error("bad ObjectID");
            return PyObjectID::Acquire(id);
          }));

  py::class_<PyObjectBuffer>(m, "ObjectBuffer", py::buffer_protocol())
      .def_buffer([](PyObjectBuffer& b) { return ReadOnlyBytes(b.stream()); })
      .def("oob_buffers", &OutOfBandBuffers)
      .def_property_readonly("format", [](const PyObjectBuffer& b) { return b.header.format; })
      .def_property_readonly("type_name",
                             [](const PyObjectBuffer& b) {
                               return std::string(
                                   b.header.type_name,
                                   strnlen(b.header.type_name, sizeof(b.header.type_name)));
                             })
      .def("__len__", [](const PyObjectBuffer& b) { return b.stream().size(); })
      .def("describe", [](const PyObjectBuffer& b) { return ray::DescribeObject(b.value.bytes); })
      .def("error_info", [](const PyObjectBuffer& b) {
        auto info = ray::DeserializeError(b.value.bytes);
        if (!info.ok()) throw py::value_error(std::string(info.status().message()));
        return ErrorDict(*info);
      });

  py::class_<PyObjectSlice>(m, "ObjectSlice", py::buffer_protocol())
      .def_buffer([](PyObjectSlice& s) { return ReadOnlyBytes(s.value.bytes); })
      .def("__len__", [](const PyObjectSlice& s) { return s.value.bytes.size(); });

  m.attr("FORMAT_MSGPACK") = static_cast<int>(ray::ObjectFormat::kMsgpack);
  m.attr("FORMAT_RAW") = static_cast<int>(ray::ObjectFormat::kRaw);
  m.attr("FORMAT_ERROR") = static_cast<int>(ray::ObjectFormat::kError);
  m.attr("FORMAT_PICKLE") = static_cast<int>(ray::ObjectFormat::kPickle);
  m.attr("WORKER_CRASHED_ERROR_TYPE") = std::string(ray::kWorkerCrashedErrorType);

  // Every field of SessionOptions, by its name; durations in seconds. Defaults: SessionOptions's,
  // but worker_command_line_title (the interpreter copies its arguments).
  const ray::core::SessionOptions defaults;
  m.def(
      "init",
      [](int num_workers, double num_cpus, uint64_t object_store_memory, bool local_mode,
         const std::string& session_dir_root, bool record_task_graph, size_t max_recorded_tasks,
         double idle_worker_timeout, double worker_stall_timeout, int max_workers,
         bool worker_command_line_title, const std::string& address,
         const std::map<std::string, double>& resources,
         const std::vector<std::string>& remote_worker_argv,
         const std::vector<std::string>& remote_worker_env) {
        Init({.num_workers = num_workers,
              .num_cpus = num_cpus,
              .object_store_memory = object_store_memory,
              .local_mode = local_mode,
              .session_dir_root = session_dir_root,
              .record_task_graph = record_task_graph,
              .max_recorded_tasks = max_recorded_tasks,
              .idle_worker_timeout = absl::Seconds(idle_worker_timeout),
              .worker_stall_timeout = absl::Seconds(worker_stall_timeout),
              .max_workers = max_workers,
              .worker_command_line_title = worker_command_line_title,
              .address = address,
              .resources = resources,
              .remote_worker_argv = remote_worker_argv,
              .remote_worker_env = remote_worker_env});
      },
      py::arg("num_workers") = defaults.num_workers, py::arg("num_cpus") = defaults.num_cpus,
      py::arg("object_store_memory") = defaults.object_store_memory,
      py::arg("local_mode") = defaults.local_mode,
      py::arg("session_dir_root") = defaults.session_dir_root,
      py::arg("record_task_graph") = defaults.record_task_graph,
      py::arg("max_recorded_tasks") = defaults.max_recorded_tasks,
      py::arg("idle_worker_timeout") = absl::ToDoubleSeconds(defaults.idle_worker_timeout),
      py::arg("worker_stall_timeout") = absl::ToDoubleSeconds(defaults.worker_stall_timeout),
      py::arg("max_workers") = defaults.max_workers, py::arg("worker_command_line_title") = true,
      py::arg("address") = defaults.address, py::arg("resources") = std::map<std::string, double>(),
      py::arg("remote_worker_argv") = std::vector<std::string>(),
      py::arg("remote_worker_env") = std::vector<std::string>());
  // In a process a node started as a driver's worker: serves the driver's scheduler until it
  // goes, then exits (never returns, the GIL held throughout). Elsewhere it raises.
  m.def("run_remote_worker", [] {
    ray::core::RunIfRemoteWorker();
    RaisePython("RayError",
                "this process was not started by a node as a driver's worker "
                "(RAY_WORKER_SCHEDULER is not set)");
  });
  m.def("shutdown", &Shutdown);
  m.def("is_initialized", [] { return ray::core::CurrentRuntime() != nullptr; });
  m.def("is_driver", [] { return InDriver(); });
  m.def("runtime_epoch", [] { return ray::core::CurrentRuntimeEpoch(); });
  m.def("put", &Put, py::arg("parts"), py::arg("type_name") = "", py::arg("hidden") = false,
        py::arg("nested") = py::bytes());
  m.def("collect_ids", &CollectIds, py::arg("pickle"));
  m.def("get", &Get, py::arg("ids"), py::arg("timeout") = py::none());
  m.def("wait", &Wait, py::arg("ids"), py::arg("num_returns"), py::arg("timeout") = py::none());
  m.def("submit", &Submit, py::arg("args"), py::arg("num_returns") = 1, py::arg("num_cpus") = 1.0,
        py::arg("max_retries") = 3, py::arg("name") = "", py::arg("nested") = py::bytes(),
        py::arg("resources") = ray::ResourceAmounts(), py::arg("actor") = nullptr,
        py::arg("creates_actor") = std::nullopt);
  // The message of ray/core_worker/limits.h's check of these options, "" if they are within the
  // limits.
  m.def(
      "check_task_options",
      [](int num_returns, double num_cpus, int max_retries) {
        ray::core::SubmitOptions options{
            .num_returns = num_returns, .num_cpus = num_cpus, .max_retries = max_retries};
        return std::string(ray::core::CheckSubmitOptions(&options).message());
      },
      py::arg("num_returns"), py::arg("num_cpus"), py::arg("max_retries"));
  m.def(
      "check_node_options",
      [](int num_workers, double num_cpus) {
        return std::string(ray::core::CheckNodeOptions(num_workers, num_cpus).message());
      },
      py::arg("num_workers"), py::arg("num_cpus"));
  m.def("write_graph", &WriteGraph, py::arg("path"));
  m.def("timeline_json", &TimelineJson);
  m.def("set_task_executor", [](py::object executor) {
    if (task_executor == nullptr) task_executor = new py::object;  // leaked: used until _exit
    *task_executor = std::move(executor);
  });
  RegisterActorFunctions(
      m, {.runtime = []() -> CoreRuntime& { return Runtime(); },
          .without_gil = [](const auto& call) { return WithoutGil(call); },
          .adopt = [](const ObjectID& id) { return py::cast(PyObjectID::Adopt(id)); },
          .object_id = [](py::handle h) { return h.cast<const PyObjectID&>().id(); }});
  RegisterDeferredCalls(m);
  RegisterCrossLanguage(
      m,
      {.object_id = [](py::handle h) -> std::optional<ObjectID> {
         if (!py::isinstance<PyObjectID>(h)) return std::nullopt;
         return h.cast<const PyObjectID&>().id();
       },
       .object_bytes = [](py::handle h) { return h.cast<const PyObjectBuffer&>().value.bytes; },
       .submit = [](ray::core::TaskSpec spec) { return py::cast(SubmitSpec(std::move(spec))); }});
  m.def("worker_pids", [] {
    std::vector<pid_t> pids;
    OnNode([&](ray::core::DriverRuntime& node) { pids = node.worker_pids(); });
    return pids;
  });
  m.def("resources", [](bool available) {  // {"CPU": ..., "object_store_memory": ...}
    double cpus = -1;
    absl::StatusOr<ray::store::StoreClientStats> store = absl::UnavailableError("no node");
    OnNode([&](ray::core::DriverRuntime& node) {
      cpus = available ? node.free_cpus() : node.num_cpus();
      store = node.store_stats();
    });
    py::dict resources;
    if (cpus < 0) return resources;
    resources["CPU"] = cpus;
    if (store.ok()) {
      resources["object_store_memory"] =
          static_cast<double>(available ? store->capacity - store->used : store->capacity);
    }
    return resources;
  });
  // ray.cluster_resources() / ray.available_resources() in a cluster: the nodes alive, summed.
  m.def("cluster_resources", [](bool available) {
    absl::StatusOr<std::vector<ray::cluster::NodeEntry>> nodes = absl::UnknownError("");
    WithoutGil([&] { nodes = ray::core::SessionNodes(); });
    if (!nodes.ok()) {
      RaisePython("RayError", absl::StrCat("ray.cluster_resources: ", nodes.status().message()));
    }
    return ray::cluster::ClusterRayResources(*nodes, available);
  });
  m.def("node_id", [] { return ray::core::ThisNodeId(); });
  m.def("nodes", [] {  // ray.nodes(): Ray's keys
    absl::StatusOr<std::vector<ray::cluster::NodeEntry>> nodes = absl::UnknownError("");
    WithoutGil([&] { nodes = ray::core::SessionNodes(); });
    if (!nodes.ok()) RaisePython("RayError", absl::StrCat("ray.nodes: ", nodes.status().message()));
    py::list result;
    for (const ray::cluster::NodeEntry& node : *nodes) {
      result.append(py::dict(py::arg("NodeID") = node.node_id, py::arg("Alive") = node.alive,
                             py::arg("alive") = node.alive,
                             py::arg("NodeManagerAddress") = node.address,
                             py::arg("NodeManagerHostname") = node.address,
                             py::arg("Resources") = ray::cluster::RayResources(node),
                             py::arg("DeathReasonMessage") = node.death_reason));
    }
    return result;
  });
  m.def("session_dir", [] {
    std::string dir;
    OnNode([&](ray::core::DriverRuntime& node) { dir = node.session_dir(); });
    return dir;
  });
  m.def("node_pids", [] {  // zygote and store
    std::vector<pid_t> pids;
    OnNode([&](ray::core::DriverRuntime& node) { pids = {node.zygote_pid(), node.store_pid()}; });
    return pids;
  });
  m.def("current_task_id", [] {  // hex; "" where there is none
    ray::core::CoreRuntime* runtime = ray::core::CurrentRuntime();
    ray::TaskID id = runtime != nullptr ? runtime->CurrentTaskId() : ray::TaskID::Nil();
    return id.IsNil() ? std::string() : id.Hex();
  });
}
