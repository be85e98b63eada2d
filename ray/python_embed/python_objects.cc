#include "ray/python_embed/python_objects.h"

#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ray/object/status.h"
#include "ray/python_embed/py_text.h"

namespace ray::python {

std::string_view BytesView(const py::bytes& b) {
  char* data = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_AsStringAndSize(b.ptr(), &data, &size) != 0) throw py::error_already_set();
  return {data, static_cast<size_t>(size)};
}

py::str Text(std::string_view text) {
  PyObject* s =
      PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "backslashreplace");
  if (s == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(s);
}

[[noreturn]] void RaiseText(PyObject* type, std::string_view message) {
  PyErr_SetObject(type, Text(message).ptr());
  throw py::error_already_set();
}

[[noreturn]] void RaisePython(const char* type, const std::string& message) {
  RaiseText(Exceptions(type).ptr(), message);
}

void RaiseStatus(const absl::Status& status) {
  if (std::optional<TaskErrorInfo> info = CarriedErrorObject(status)) {
    py::object error = Exceptions("_from_error_info")(ErrorDict(*info));
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
    throw py::error_already_set();
  }
  std::string name(ErrorTypeName(status.code()));
  name.erase(0, name.rfind(':') + 1);  // "ray::ObjectLostError": ray.exceptions.ObjectLostError
  RaisePython(name.c_str(), std::string(status.message()));
}

py::buffer_info ReadOnlyBytes(std::span<const uint8_t> bytes) {
  return py::buffer_info(const_cast<uint8_t*>(bytes.data()), 1,
                         py::format_descriptor<uint8_t>::format(), 1,
                         {static_cast<py::ssize_t>(bytes.size())}, {1}, /*readonly=*/true);
}

PyObjectBuffer ToBuffer(ObjectValue value) {
  absl::StatusOr<ObjectHeader> header = ReadHeader(value.bytes);
  if (!header.ok()) {
    RaisePython("RayError", "malformed object: " + std::string(header.status().message()));
  }
  PyObjectBuffer buffer{std::move(value), *header, {}};
  if (header->format == static_cast<uint8_t>(ObjectFormat::kPickle)) {
    absl::StatusOr<PickleLayout> layout = ReadPickleLayout(buffer.payload());
    if (!layout.ok()) RaisePython("RayError", std::string(layout.status().message()));
    buffer.layout = *std::move(layout);
  }
  return buffer;
}

py::object ToPython(ObjectValue value) {
  PyObjectBuffer buffer = ToBuffer(std::move(value));
  if (buffer.header.format == static_cast<uint8_t>(ObjectFormat::kPickle) &&
      buffer.layout.buffers.empty() && buffer.layout.stream.size <= kCopyStreamLimit) {
    std::span<const uint8_t> stream = buffer.stream();
    return py::bytes(reinterpret_cast<const char*>(stream.data()), stream.size());
  }
  return py::cast(std::move(buffer));
}

ObjectValue Aligned(ObjectValue slice) {
  if (slice.bytes.empty() ||
      reinterpret_cast<uintptr_t>(slice.bytes.data()) % kPickleBufferAlignment == 0) {
    return slice;
  }
  const size_t rounded = (slice.bytes.size() + kPickleBufferAlignment - 1) /
                         kPickleBufferAlignment * kPickleBufferAlignment;
  void* memory = std::aligned_alloc(kPickleBufferAlignment, rounded);
  if (memory == nullptr) throw std::bad_alloc();
  std::memcpy(memory, slice.bytes.data(), slice.bytes.size());
  return {{static_cast<const uint8_t*>(memory), slice.bytes.size()},
          std::shared_ptr<const void>(memory, std::free)};
}

py::list OutOfBandBuffers(const PyObjectBuffer& b) {
  py::list slices;
  for (const Extent& e : b.layout.buffers) {
    slices.append(PyObjectSlice{Aligned({b.payload().subspan(e.offset, e.size), b.value.owner})});
  }
  return slices;
}

py::dict ErrorDict(const TaskErrorInfo& info) {
  py::dict d;
  // C++ exceptions' what() need not be UTF-8.
  d["function_name"] = Text(info.function_name);
  d["exception_type"] = Text(info.exception_type);
  d["message"] = Text(info.message);
  d["traceback"] = Text(info.traceback);
  d["task_id"] = Text(info.task_id);
  d["pid"] = info.pid;
  d["node"] = Text(info.node);
  d["exception_pickle"] = py::bytes(info.exception_pickle);
  return d;
}

TaskErrorInfo ErrorInfo(const py::dict& d) {
  TaskErrorInfo info;
  auto str = [&](const char* key) {
    return d.contains(key) ? StrUtf8(d[key].ptr()) : std::string();
  };
  info.function_name = str("function_name");
  info.exception_type = str("exception_type");
  info.message = str("message");
  info.traceback = str("traceback");
  info.task_id = str("task_id");
  info.node = str("node");
  info.pid = d.contains("pid") ? d["pid"].cast<int64_t>() : getpid();
  if (d.contains("exception_pickle")) {
    info.exception_pickle = std::string(BytesView(d["exception_pickle"].cast<py::bytes>()));
  }
  return info;
}

}  // namespace ray::python
