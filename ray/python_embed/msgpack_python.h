// MessagePack values <-> Python values: how values cross between C++ and Python
// (ray.cpp_function, ray::PyFunction).
//
//   msgpack             Python
//   nil                 None
//   bool                bool
//   int (64 bits)       int
//   float32, float64    float
//   str (UTF-8)         str
//   bin                 bytes
//   array               list (a tuple inside a map key, to be hashable)
//   map                 dict
//
// Python -> msgpack also takes int and float subclasses, tuple (array), bytearray and contiguous
// memoryview (bin), and numpy scalars (numpy.bool_, integers and floats). Anything else is a
// TypeError naming the type; an int beyond 64 bits an OverflowError.
//
// REQUIRES: the caller holds the GIL (every function here).
#pragma once

#include <Python.h>

#include <cstdint>
#include <msgpack.hpp>
#include <span>
#include <string>

namespace ray::python {

// A new reference to the Python value of `value`; nullptr with a Python exception set
// (UnicodeDecodeError for a str that is not UTF-8, TypeError for ext types or an unhashable map
// key).
PyObject* MsgpackToPython(const msgpack::object& value);

// The same for a payload that must hold exactly one msgpack value: ValueError if it does not
// (malformed, truncated, trailing bytes). Never reads outside `payload`.
PyObject* UnpackToPython(std::span<const uint8_t> payload);

// Appends the msgpack encoding of `value` to *out. False with a Python exception set
// (TypeError, OverflowError, ValueError for nesting deeper than 512 levels or a container that
// holds itself); *out may then hold part of the encoding.
bool PackPython(PyObject* value, std::string* out);

// The type of `value` for messages, as ray names Python types in error objects: "set",
// "numpy.ndarray", "mymodule.Point" (builtins without a module).
std::string PythonTypeName(PyObject* value);

}  // namespace ray::python
