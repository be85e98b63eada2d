#include "ray/python_embed/msgpack_python.h"

#include <cstring>
#include <exception>
#include <limits>
#include <new>

#include "ray/object/msgpack_floats.h"
#include "ray/python_embed/py_ref.h"

namespace ray::python {
namespace {
struct StringStream {
  std::string* out;
  void write(const char* data, size_t n) { out->append(data, n); }
};
}  // namespace
}  // namespace ray::python

// A Python float is a msgpack float, also 2.0.
RAY_MSGPACK_EXACT_FLOATS(ray::python::StringStream)

namespace ray::python {
namespace {

// The depth that libray's msgpack readers accept (ray/object/msgpack_object.h, kMaxMsgpackDepth).
constexpr int kMaxDepth = 512;

// ---------------------------------------------------------------------------------------------
// msgpack -> Python

PyObject* ToPython(const msgpack::object& o, bool as_key);

PyObject* ArrayToPython(const msgpack::object_array& a, bool as_key) {
  // Inside a map key an array becomes a tuple, which is hashable.
  PyRef out(as_key ? PyTuple_New(a.size) : PyList_New(a.size));
  if (!out) return nullptr;
  for (uint32_t i = 0; i < a.size; ++i) {
    PyObject* item = ToPython(a.ptr[i], as_key);
    if (item == nullptr) return nullptr;
    if (as_key) {
      PyTuple_SET_ITEM(out.get(), i, item);  // steals item
    } else {
      PyList_SET_ITEM(out.get(), i, item);
    }
  }
  return out.release();
}

PyObject* MapToPython(const msgpack::object_map& m) {
  PyRef out(PyDict_New());
  if (!out) return nullptr;
  for (uint32_t i = 0; i < m.size; ++i) {
    PyRef key(ToPython(m.ptr[i].key, /*as_key=*/true));
    if (!key) return nullptr;
    PyRef value(ToPython(m.ptr[i].val, /*as_key=*/false));
    if (!value || PyDict_SetItem(out.get(), key.get(), value.get()) != 0) return nullptr;
  }
  return out.release();
}

// A msgpack str as a Python str; one that is not UTF-8 is a UnicodeDecodeError that says where
// such strings come from.
PyObject* StrToPython(const char* data, uint32_t size) {
  PyObject* s = PyUnicode_DecodeUTF8(data, size, "strict");
  if (s != nullptr || !PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) return s;
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  PyRef reason(PyUnicodeDecodeError_GetReason(value));
  PyRef hinted(reason ? PyUnicode_FromFormat(
                            "%U (a str in a msgpack value, as from a C++ std::string, must be "
                            "UTF-8; bytes go as std::vector<uint8_t>)",
                            reason.get())
                      : nullptr);
  const char* text = hinted ? PyUnicode_AsUTF8(hinted.get()) : nullptr;
  if (text == nullptr || PyUnicodeDecodeError_SetReason(value, text) != 0) PyErr_Clear();
  PyErr_Restore(type, value, traceback);
  return nullptr;
}

PyObject* ToPython(const msgpack::object& o, bool as_key) {
  switch (o.type) {
    case msgpack::type::NIL:
      Py_RETURN_NONE;
    case msgpack::type::BOOLEAN:
      return PyBool_FromLong(o.via.boolean);
    case msgpack::type::POSITIVE_INTEGER:
      return PyLong_FromUnsignedLongLong(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER:
      return PyLong_FromLongLong(o.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return PyFloat_FromDouble(o.via.f64);
    case msgpack::type::STR:
      return StrToPython(o.via.str.ptr, o.via.str.size);
    case msgpack::type::BIN:
      return PyBytes_FromStringAndSize(o.via.bin.ptr, o.via.bin.size);
    case msgpack::type::ARRAY:
      return ArrayToPython(o.via.array, as_key);
    case msgpack::type::MAP:
      return MapToPython(o.via.map);
    case msgpack::type::EXT:
      return PyErr_Format(PyExc_TypeError, "msgpack ext type %d has no Python value",
                          static_cast<int>(o.via.ext.type()));
  }
  return PyErr_Format(PyExc_ValueError, "unknown msgpack type %d", static_cast<int>(o.type));
}

bool ReferenceAll(msgpack::type::object_type, size_t, void*) { return true; }

// ---------------------------------------------------------------------------------------------
// Python -> msgpack

using Packer = msgpack::packer<StringStream>;

bool CheckLength(Py_ssize_t n, const char* what) {
  if (static_cast<uint64_t>(n) <= std::numeric_limits<uint32_t>::max()) return true;
  PyErr_Format(PyExc_ValueError, "%s of %zd elements is too long for msgpack (2^32 - 1 at most)",
               what, n);
  return false;
}

bool PackValue(PyObject* value, Packer& pk, int depth);

bool PackInt(PyObject* value, Packer& pk) {
  int overflow = 0;
  long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
  if (overflow == 0) {
    if (v == -1 && PyErr_Occurred()) return false;
    pk.pack_int64(v);
    return true;
  }
  if (overflow > 0) {
    unsigned long long u = PyLong_AsUnsignedLongLong(value);
    if (!(u == static_cast<unsigned long long>(-1) && PyErr_Occurred())) {
      pk.pack_uint64(u);
      return true;
    }
    PyErr_Clear();
  }
  PyErr_Format(PyExc_OverflowError,
               "int of %zu bits does not fit in msgpack (64-bit integers: -2**63 to 2**64 - 1)",
               _PyLong_NumBits(value));
  return false;
}

bool PackBytes(const char* data, Py_ssize_t size, Packer& pk) {
  if (!CheckLength(size, "bytes")) return false;
  pk.pack_bin(static_cast<uint32_t>(size));
  pk.pack_bin_body(data, static_cast<uint32_t>(size));
  return true;
}

bool PackSequence(PyObject* tuple, Packer& pk, int depth) {  // REQUIRES: a tuple
  const Py_ssize_t n = PyTuple_GET_SIZE(tuple);
  if (!CheckLength(n, "a list")) return false;
  pk.pack_array(static_cast<uint32_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!PackValue(PyTuple_GET_ITEM(tuple, i), pk, depth + 1)) return false;
  }
  return true;
}

bool PackDict(PyObject* dict, Packer& pk, int depth) {
  // A snapshot of the items: converting a value may run Python code that changes the dict.
  PyRef items(PyDict_Items(dict));
  if (!items) return false;
  const Py_ssize_t n = PyList_GET_SIZE(items.get());
  if (!CheckLength(n, "a dict")) return false;
  pk.pack_map(static_cast<uint32_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PyList_GET_ITEM(items.get(), i);
    if (!PackValue(PyTuple_GET_ITEM(item, 0), pk, depth + 1) ||
        !PackValue(PyTuple_GET_ITEM(item, 1), pk, depth + 1)) {
      return false;
    }
  }
  return true;
}

// Is `value` an instance of numpy.<name>? -1 on error.
int IsNumpy(PyObject* numpy, PyObject* value, const char* name) {
  PyRef type(PyObject_GetAttrString(numpy, name));
  return type ? PyObject_IsInstance(value, type.get()) : -1;
}

// numpy.bool_, numpy.integer and numpy.floating scalars: 1 if packed, 0 if `value` is none of
// them, -1 on error.
int PackNumpyScalar(PyObject* value, Packer& pk) {
  if (std::strncmp(Py_TYPE(value)->tp_name, "numpy.", 6) != 0) return 0;
  PyRef name(PyUnicode_FromString("numpy"));
  PyRef numpy(name ? PyImport_GetModule(name.get()) : nullptr);  // loaded, as it made `value`
  if (!numpy) return PyErr_Occurred() ? -1 : 0;
  int is = IsNumpy(numpy.get(), value, "bool_");
  if (is != 0) {
    if (is < 0) return -1;
    pk.pack(PyObject_IsTrue(value) == 1);
    return 1;
  }
  if ((is = IsNumpy(numpy.get(), value, "integer")) != 0) {
    PyRef index(is > 0 ? PyNumber_Index(value) : nullptr);
    return index && PackInt(index.get(), pk) ? 1 : -1;
  }
  if ((is = IsNumpy(numpy.get(), value, "floating")) != 0) {
    double d = is > 0 ? PyFloat_AsDouble(value) : -1;
    if (is < 0 || (d == -1 && PyErr_Occurred())) return -1;
    pk.pack_double(d);
    return 1;
  }
  return 0;
}

bool PackValue(PyObject* value, Packer& pk, int depth) {
  if (depth > kMaxDepth) {
    PyErr_Format(PyExc_ValueError,
                 "the value is nested deeper than %d levels (or contains itself): msgpack "
                 "readers refuse it",
                 kMaxDepth);
    return false;
  }
  if (value == Py_None) {
    pk.pack_nil();
  } else if (PyBool_Check(value)) {
    pk.pack(value == Py_True);
  } else if (PyLong_Check(value)) {
    return PackInt(value, pk);
  } else if (PyFloat_Check(value)) {
    pk.pack_double(PyFloat_AS_DOUBLE(value));
  } else if (PyUnicode_Check(value)) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(value, &size);
    if (data == nullptr || !CheckLength(size, "a str")) return false;
    pk.pack_str(static_cast<uint32_t>(size));
    pk.pack_str_body(data, static_cast<uint32_t>(size));
  } else if (PyBytes_Check(value)) {
    return PackBytes(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value), pk);
  } else if (PyByteArray_Check(value) || PyMemoryView_Check(value)) {
    Py_buffer view;
    if (PyObject_GetBuffer(value, &view, PyBUF_CONTIG_RO) != 0) return false;
    bool ok = PackBytes(static_cast<const char*>(view.buf), view.len, pk);
    PyBuffer_Release(&view);
    return ok;
  } else if (PyTuple_Check(value)) {
    return PackSequence(value, pk, depth);
  } else if (PyList_Check(value)) {
    // A snapshot: converting an element may run Python code that changes the list.
    PyRef tuple(PyList_AsTuple(value));
    return tuple && PackSequence(tuple.get(), pk, depth);
  } else if (PyDict_Check(value)) {
    return PackDict(value, pk, depth);
  } else {
    int numpy = PackNumpyScalar(value, pk);
    if (numpy != 0) return numpy > 0;
    PyErr_Format(PyExc_TypeError,
                 "cannot convert a Python %s to msgpack (values crossing to C++ are None, bool, "
                 "int, float, str, bytes, bytearray, memoryview, list, tuple and dict)",
                 PythonTypeName(value).c_str());
    return false;
  }
  return true;
}

}  // namespace

PyObject* MsgpackToPython(const msgpack::object& value) {
  return ToPython(value, /*as_key=*/false);
}

PyObject* UnpackToPython(std::span<const uint8_t> payload) {
  const size_t n = payload.size();
  try {
    // Nothing is bigger than the payload (each element takes a byte at least); strings point into
    // it until they are copied into Python objects.
    msgpack::unpack_limit limit(n, n, n, n, n, kMaxDepth);
    size_t offset = 0;
    msgpack::object_handle handle = msgpack::unpack(reinterpret_cast<const char*>(payload.data()),
                                                    n, offset, &ReferenceAll, nullptr, limit);
    if (offset != n) {
      return PyErr_Format(PyExc_ValueError, "malformed msgpack: %zu bytes after the value",
                          n - offset);
    }
    return ToPython(handle.get(), /*as_key=*/false);
  } catch (const std::bad_alloc&) {
    return PyErr_NoMemory();
  } catch (const std::exception& e) {
    return PyErr_Format(PyExc_ValueError, "malformed msgpack (%zu bytes): %s", n, e.what());
  }
}

std::string PythonTypeName(PyObject* value) {
  PyObject* type = reinterpret_cast<PyObject*>(Py_TYPE(value));
  PyRef module(PyObject_GetAttrString(type, "__module__"));
  PyRef name(PyObject_GetAttrString(type, "__qualname__"));
  const char* m = module && PyUnicode_Check(module.get()) ? PyUnicode_AsUTF8(module.get()) : "";
  const char* n = name && PyUnicode_Check(name.get()) ? PyUnicode_AsUTF8(name.get()) : nullptr;
  PyErr_Clear();
  if (n == nullptr) return Py_TYPE(value)->tp_name;
  if (m == nullptr || *m == '\0' || std::strcmp(m, "builtins") == 0) return n;
  return std::string(m) + "." + n;
}

bool PackPython(PyObject* value, std::string* out) {
  StringStream stream{out};
  Packer pk(stream);
  try {
    return PackValue(value, pk, 0);
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
    return false;
  }
}

}  // namespace ray::python
