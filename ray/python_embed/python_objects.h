// Python values as objects: an object's bytes as Python reads them (ObjectBuffer: the pickle
// stream and its out-of-band buffers over the object's memory, no copy), a pickled value as the
// extension writes it, and error objects as Python dicts. Part of the extension module
// (python_extension.cc); not for other users.
#pragma once

#include <Python.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/object/object_format.h"
#include "ray/python_embed/pickle_layout.h"

namespace ray::python {

namespace py = pybind11;
using core::ObjectValue;

// ray.exceptions' class `name`.
inline py::object Exceptions(const char* name) {
  return py::module_::import("ray.exceptions").attr(name);
}

// The bytes of a Python bytes object (no copy).
std::string_view BytesView(const py::bytes& b);

// `text` (UTF-8) as a Python str; a byte that is not UTF-8 shows as \xNN.
py::str Text(std::string_view text);

// Raises `type` with all of `message` (NULs and bytes that are not UTF-8 too, as Text shows them).
[[noreturn]] void RaiseText(PyObject* type, std::string_view message);

// Raises ray.exceptions' `type` with `message`.
[[noreturn]] void RaisePython(const char* type, const std::string& message);

// The one place a runtime's status (not ok) becomes a Python exception: the task error it
// carries, as ray.get raises it; else ray.exceptions' class of the same name as the C++
// exception its code stands for (ray/object/status.h: ObjectLostError for NotFound, ...).
[[noreturn]] void RaiseStatus(const absl::Status& status);

// A stored object as Python sees it. For a Python value (kPickle) the buffer protocol gives the
// pickle stream and oob_buffers() its out-of-band buffers, all read-only over the object's
// memory (the store's, or the runtime's for small objects): no copy. Every view shares the
// ObjectValue's owner, so the object stays pinned while any array made over it lives.
struct PyObjectBuffer {
  ObjectValue value;
  ObjectHeader header;
  PickleLayout layout;  // kPickle only
  std::span<const uint8_t> payload() const { return value.bytes.subspan(kObjectHeaderSize); }
  std::span<const uint8_t> stream() const {
    if (header.format != static_cast<uint8_t>(ObjectFormat::kPickle)) return payload();
    return payload().subspan(layout.stream.offset, layout.stream.size);
  }
};

// One out-of-band buffer of a Python value (a numpy array's data), read-only.
struct PyObjectSlice {
  ObjectValue value;  // the slice; owner: the whole object
};

py::buffer_info ReadOnlyBytes(std::span<const uint8_t> bytes);

PyObjectBuffer ToBuffer(ObjectValue value);

// Small Python values without out-of-band buffers come to Python as their pickle stream in a
// `bytes` object: a copy of at most this many bytes costs less than an ObjectBuffer (pybind11
// files each instance in a table of every live one, slow when a million ObjectIDs live).
constexpr size_t kCopyStreamLimit = 4096;

// The object as Python reads it (python/ray/_pickling.py: deserialize): `bytes` (see
// kCopyStreamLimit) or an ObjectBuffer.
py::object ToPython(ObjectValue value);

// `slice` if it starts kPickleBufferAlignment-aligned, else an aligned copy. Objects in the store
// are aligned; small ones travel inline, in messages or the runtime's memory aligned to 8 or
// 16, and are copied (at most kInlineLimit bytes), so that arrays read back are always aligned.
ObjectValue Aligned(ObjectValue slice);

py::list OutOfBandBuffers(const PyObjectBuffer& b);

// A contiguous buffer of a Python object, held (and so kept alive) until destroyed.
class HeldBuffer {
 public:
  explicit HeldBuffer(py::handle object) {
    if (PyObject_GetBuffer(object.ptr(), &view_, PyBUF_SIMPLE) != 0) throw py::error_already_set();
  }
  HeldBuffer(const HeldBuffer&) = delete;
  HeldBuffer& operator=(const HeldBuffer&) = delete;
  ~HeldBuffer() { PyBuffer_Release(&view_); }
  std::span<const uint8_t> bytes() const {
    return {static_cast<const uint8_t*>(view_.buf), static_cast<size_t>(view_.len)};
  }

 private:
  Py_buffer view_{};
};

// A Python value ready to be stored: python/ray's serializer gives [pickle stream, buffer...]
// (anything with the buffer protocol) and the value's type name. Writing copies each part once,
// straight to its place in the object, and needs no GIL: the parts are held.
class PickledValue {
 public:
  PickledValue(py::handle parts, std::string_view type_name) : type_name_(type_name) {
    std::vector<size_t> sizes;
    for (py::handle part : parts) {
      parts_.push_back(std::make_unique<HeldBuffer>(part));
      sizes.push_back(parts_.back()->bytes().size());
    }
    if (parts_.empty()) throw py::value_error("a pickled value needs its pickle stream");
    layout_ = PlanPickle(sizes[0], std::span(sizes).subspan(1));
  }

  size_t size() const { return kObjectHeaderSize + layout_.payload_size; }

  void Write(std::span<uint8_t> out) const {
    WriteForeignHeader(out, ObjectFormat::kPickle, layout_.payload_size, type_name_);
    std::span<uint8_t> payload = out.subspan(kObjectHeaderSize);
    WritePickleTable(layout_, payload);
    for (size_t i = 0; i < parts_.size(); ++i) {
      const Extent& e = i == 0 ? layout_.stream : layout_.buffers[i - 1];
      std::span<const uint8_t> part = parts_[i]->bytes();
      if (!part.empty()) std::memcpy(payload.data() + e.offset, part.data(), part.size());
    }
  }

  std::string ToString() const {
    std::string object(size(), '\0');
    Write({reinterpret_cast<uint8_t*>(object.data()), object.size()});
    return object;
  }

 private:
  std::vector<std::unique_ptr<HeldBuffer>> parts_;
  PickleLayout layout_;
  std::string type_name_;
};

py::dict ErrorDict(const TaskErrorInfo& info);

TaskErrorInfo ErrorInfo(const py::dict& d);

}  // namespace ray::python
