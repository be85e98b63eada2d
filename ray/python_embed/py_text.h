// Python text for C++: str() of an object as UTF-8, for code on the CPython C API.
#pragma once

#include <Python.h>

#include <string>

#include "ray/python_embed/py_ref.h"

namespace ray::python {

// str(object) in UTF-8, whole: a lone surrogate (os.fsdecode's for a byte that is not UTF-8) as
// its \udcXX escape. "" (the Python error cleared) if str() fails. The GIL held.
inline std::string StrUtf8(PyObject* object) {
  PyRef s(object != nullptr ? PyObject_Str(object) : nullptr);
  PyRef utf8(s ? PyUnicode_AsEncodedString(s.get(), "utf-8", "backslashreplace") : nullptr);
  if (!utf8) {
    PyErr_Clear();
    return "";
  }
  return std::string(PyBytes_AS_STRING(utf8.get()), PyBytes_GET_SIZE(utf8.get()));
}

}  // namespace ray::python
