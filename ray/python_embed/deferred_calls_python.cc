#include "ray/python_embed/deferred_calls_python.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "ray/core_worker/call_threads.h"
#include "ray/object/status.h"
#include "ray/python_embed/py_object_id.h"
#include "ray/python_embed/python_objects.h"

namespace ray::python {

namespace py = pybind11;

namespace {

// The calls handed to the actor's loop and not taken in yet, and the eventfd that wakes the loop
// when the first of them comes.
class Inbox {
 public:
  Inbox() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  int fd() const { return fd_; }

  struct Call {
    std::unique_ptr<core::DeferredCall> call;
    std::vector<core::ObjectValue> args;  // each holds its bytes
  };

  void Push(Call call) {
    absl::MutexLock lock(&mu_);
    calls_.push_back(std::move(call));
    if (calls_.size() == 1) {
      const uint64_t one = 1;
      (void)!write(fd_, &one, sizeof one);
    }
  }

  std::vector<Call> Take() {
    uint64_t count;
    (void)!read(fd_, &count, sizeof count);  // before the swap: a push after it writes again
    absl::MutexLock lock(&mu_);
    return std::exchange(calls_, {});
  }

 private:
  const int fd_;
  absl::Mutex mu_;
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
};

// Made by the creation of an async actor in its worker (defer_actor_calls); lives as the process.
Inbox* inbox = nullptr;

// A call as Python holds it: a capsule of this name that owns the DeferredCall until finish_calls
// takes it (and leaves kFinished in its place).
constexpr const char* kCallCapsule = "ray.DeferredCall";
char finished_marker;
void* const kFinished = &finished_marker;

core::DeferredCall* Held(PyObject* capsule) {
  void* held = PyCapsule_GetPointer(capsule, kCallCapsule);
  if (held == nullptr) PyErr_Clear();
  return held == kFinished ? nullptr : static_cast<core::DeferredCall*>(held);
}

}  // namespace

bool DeferToActorLoop(std::span<const core::ObjectValue> args) {
  if (inbox == nullptr) return false;
  std::unique_ptr<core::DeferredCall> call = core::DeferRunningCall();
  if (call == nullptr) return false;
  inbox->Push({std::move(call), std::vector<core::ObjectValue>(args.begin(), args.end())});
  return true;
}

absl::Status WriteOutcome(py::handle outcome, core::ReturnWriter& returns) {
  if (py::isinstance<py::dict>(outcome)) return TaskFailure(ErrorInfo(outcome.cast<py::dict>()));
  py::list values = outcome.cast<py::list>();
  for (size_t i = 0; i < values.size(); ++i) {
    py::tuple item = values[i].cast<py::tuple>();  // (parts, type name, nested IDs, value)
    PickledValue value(item[0], item[1].cast<std::string>());
    absl::StatusOr<std::span<uint8_t>> out = returns.Allocate(i, value.size());
    if (!out.ok()) return out.status();
    value.Write(*out);
    absl::Status nested = returns.SetNestedRefs(i, NestedIds(item[2].cast<py::bytes>()));
    if (!nested.ok()) return nested;
  }
  return absl::OkStatus();
}

absl::Status ExecutorFailure(const py::error_already_set& e) {
  return TaskFailure({.function_name = "",  // the task's name (TaskErrorInfoOf)
                      .exception_type = py::str(e.type().attr("__name__")),
                      .message = py::str(e.value()),
                      .pid = getpid()});
}

void RegisterDeferredCalls(py::module_& m) {
  // In an async actor's creation, in its worker: the actor's calls defer from now on. The fd to
  // watch for calls to take (take_deferred_calls); None where calls cannot defer (local mode).
  m.def("defer_actor_calls", []() -> py::object {
    if (!core::DeferActorCalls()) return py::none();
    if (inbox == nullptr) inbox = new Inbox();
    return py::int_(inbox->fd());
  });
  // The calls handed over since the last take: [(call, [argument buffers])], a call as a capsule
  // (one dropped unfinished fails its call), the buffers as a task's executor takes them but the
  // first (the class's place, empty in a call: the actor has it): None.
  m.def("take_deferred_calls", [] {
    py::list taken;
    if (inbox == nullptr) return taken;
    for (Inbox::Call& arrived : inbox->Take()) {
      py::list buffers(arrived.args.size());
      buffers[0] = py::none();
      for (size_t i = 1; i < arrived.args.size(); ++i) buffers[i] = ToPython(arrived.args[i]);
      py::capsule call(arrived.call.release(), kCallCapsule,
                       [](PyObject* capsule) { delete Held(capsule); });
      taken.append(py::make_tuple(std::move(call), std::move(buffers)));
    }
    return taken;
  });
  // Ends calls: [(DeferredCall, outcome)], each outcome as the executor returns it (WriteOutcome);
  // then sends their results together and starts the calls that waited for room.
  m.def("finish_calls", [](const py::list& finished) {
    std::unique_ptr<core::DeferredCall> last;
    for (py::handle item : finished) {
      py::tuple pair = item.cast<py::tuple>();
      core::DeferredCall* held = Held(pair[0].ptr());
      if (held == nullptr)
        throw py::value_error("finish_calls: not a call, or one finished before");
      (void)PyCapsule_SetPointer(pair[0].ptr(), kFinished);  // a valid capsule: it cannot fail
      std::unique_ptr<core::DeferredCall> call(held);        // owned here, no longer by the capsule
      (void)call->Finish([&](core::ReturnWriter& returns) {
        try {
          return WriteOutcome(pair[1], returns);
        } catch (py::error_already_set& e) {
          return ExecutorFailure(e);
        }
      });
      last = std::move(call);
    }
    if (last == nullptr) return;
    PyThreadState* state = PyEval_SaveThread();  // the send and the starts need no GIL
    last->Flush();
    PyEval_RestoreThread(state);
  });
}

}  // namespace ray::python
