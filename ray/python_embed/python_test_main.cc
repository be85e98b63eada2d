#include <Python.h>
#include <gtest/gtest.h>

#include "ray/python_embed/msgpack_python.h"
#include "ray/python_embed/py_ref.h"
#include "ray/python_embed/python_test_util.h"

namespace ray::python {

std::string TakePythonError() {
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  PyRef t(type), v(value), tb(traceback);
  if (!v) return "no error";
  PyRef message(PyObject_Str(v.get()));
  return PythonTypeName(v.get()) + ": " + (message ? PyUnicode_AsUTF8(message.get()) : "?");
}

}  // namespace ray::python

int main(int argc, char** argv) {
  Py_InitializeEx(0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
