#include "ray/python_embed/object_python.h"

#include <cstring>
#include <string_view>

#include "absl/status/statusor.h"
#include "ray/object/object_format.h"
#include "ray/python_embed/msgpack_python.h"

namespace ray::python {
namespace {

template <typename T>
T Load(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));  // raw payloads inline in messages may be unaligned
  return value;
}

// One element of a raw array of numbers or bools; nullptr for an element type that is not one.
PyObject* Element(ElementKind kind, uint32_t size, const uint8_t* p) {
  switch (kind) {
    case ElementKind::kBool:
      return PyBool_FromLong(*p != 0);
    case ElementKind::kSigned:
      if (size == 2) return PyLong_FromLong(Load<int16_t>(p));
      if (size == 4) return PyLong_FromLong(Load<int32_t>(p));
      if (size == 8) return PyLong_FromLongLong(Load<int64_t>(p));
      break;
    case ElementKind::kUnsigned:
      if (size == 2) return PyLong_FromUnsignedLong(Load<uint16_t>(p));
      if (size == 4) return PyLong_FromUnsignedLong(Load<uint32_t>(p));
      if (size == 8) return PyLong_FromUnsignedLongLong(Load<uint64_t>(p));
      break;
    case ElementKind::kFloat:
      if (size == 4) return PyFloat_FromDouble(Load<float>(p));
      if (size == 8) return PyFloat_FromDouble(Load<double>(p));
      if (size == sizeof(long double)) {
        return PyFloat_FromDouble(static_cast<double>(Load<long double>(p)));
      }
      break;
    default:
      break;
  }
  return PyErr_Format(PyExc_TypeError, "raw elements of kind %d and %u bytes have no Python value",
                      static_cast<int>(kind), size);
}

PyObject* RawToPython(const ObjectHeader& header, std::span<const uint8_t> payload) {
  const auto kind = static_cast<ElementKind>(header.elem_kind);
  const char* data = reinterpret_cast<const char*>(payload.data());
  const auto size = static_cast<Py_ssize_t>(payload.size());
  switch (kind) {
    case ElementKind::kText:
      return PyUnicode_DecodeUTF8(data, size, "strict");
    case ElementKind::kBytes:
    case ElementKind::kTrivial:
      return PyBytes_FromStringAndSize(data, size);
    default:
      break;
  }
  const size_t n = header.elem_size == 0 ? 0 : payload.size() / header.elem_size;
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(n));
  if (list == nullptr) return nullptr;
  for (size_t i = 0; i < n; ++i) {
    PyObject* item = Element(kind, header.elem_size, payload.data() + i * header.elem_size);
    if (item == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), item);  // steals item
  }
  return list;
}

}  // namespace

PyObject* ObjectToPython(std::span<const uint8_t> object) {
  absl::StatusOr<ObjectHeader> header = ReadHeader(object);
  if (!header.ok()) {
    return PyErr_Format(PyExc_ValueError, "not a libray object: %s",
                        std::string(header.status().message()).c_str());
  }
  std::span<const uint8_t> payload = object.subspan(kObjectHeaderSize);
  switch (static_cast<ObjectFormat>(header->format)) {
    case ObjectFormat::kMsgpack:
      return UnpackToPython(payload);
    case ObjectFormat::kRaw:
      return RawToPython(*header, payload);
    case ObjectFormat::kError:
    case ObjectFormat::kPickle:
      break;
  }
  return PyErr_Format(PyExc_TypeError, "the object is not a C++ value: %s",
                      DescribeObject(object).c_str());
}

bool PythonToObject(PyObject* value, std::string* object) {
  object->assign(kObjectHeaderSize, '\0');
  if (!PackPython(value, object)) return false;
  WriteForeignHeader(std::span<uint8_t>(reinterpret_cast<uint8_t*>(object->data()), object->size()),
                     ObjectFormat::kMsgpack, object->size() - kObjectHeaderSize,
                     Py_TYPE(value)->tp_name);
  return true;
}

}  // namespace ray::python
