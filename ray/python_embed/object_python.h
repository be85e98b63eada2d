// libray objects <-> Python values, for values that cross between C++ and Python: what ray.get
// returns for an object that C++ wrote, what a ray::PyFunction receives, and the msgpack object
// a Python value becomes (values: msgpack_python.h).
//
// C++ objects as Python values:
//   msgpack             the value (msgpack_python.h)
//   raw text (char)     str (std::string), UTF-8
//   raw bytes           bytes (std::vector<uint8_t>, ray::ByteBuffer)
//   raw numbers, bools  list of int / float / bool (std::vector<double>, ...)
//   raw structs         bytes (RAY_RAW_ELEMENT arrays: their memory)
//
// REQUIRES: the caller holds the GIL (every function here).
#pragma once

#include <Python.h>

#include <cstdint>
#include <span>
#include <string>

namespace ray::python {

// A new reference to the Python value of the msgpack or raw object `object` (header included);
// nullptr with a Python exception set: TypeError for error and pickle objects, ValueError for
// bytes that are not a well-formed object, the errors of msgpack_python.h.
PyObject* ObjectToPython(std::span<const uint8_t> object);

// Replaces *object with a msgpack object holding `value` (its header names the Python type).
// False with a Python exception set (see PackPython in msgpack_python.h).
bool PythonToObject(PyObject* value, std::string* object);

}  // namespace ray::python
