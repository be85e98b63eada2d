#include "ray/python_embed/object_python.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "ray/api/internal/serialization.h"
#include "ray/python_embed/py_ref.h"
#include "ray/python_embed/python_test_util.h"

namespace ray::python {
namespace {

struct Pixel {
  uint8_t r, g;
  RAY_RAW_ELEMENT();
};

// repr() of the object's Python value, or "<type>: <message>" of the error.
std::string ValueRepr(const std::string& object) {
  PyRef value(ObjectToPython(AsBytes(object)));
  if (value) return PyUnicode_AsUTF8(PyRef(PyObject_Repr(value.get())).get());
  return TakePythonError();
}

TEST(ObjectPython, RawObjects) {
  EXPECT_EQ(ValueRepr(Serialize(std::string("héllo"))), "'héllo'");
  EXPECT_EQ(ValueRepr(Serialize(std::vector<double>{1.5, 2})), "[1.5, 2.0]");
  EXPECT_EQ(ValueRepr(Serialize(std::vector<float>{0.25f})), "[0.25]");
  EXPECT_EQ(ValueRepr(Serialize(std::vector<int32_t>{-1, 2})), "[-1, 2]");
  EXPECT_EQ(ValueRepr(Serialize(std::vector<int16_t>{-3})), "[-3]");
  EXPECT_EQ(ValueRepr(Serialize(std::vector<uint64_t>{~uint64_t{0}})), "[18446744073709551615]");
  EXPECT_EQ(ValueRepr(Serialize(std::vector<uint8_t>{1, 2})), "b'\\x01\\x02'");
  EXPECT_EQ(ValueRepr(Serialize(ByteBuffer(std::vector<uint8_t>{65}))), "b'A'");
  const bool flags[] = {true, false};
  EXPECT_EQ(ValueRepr(Serialize(std::span<const bool>(flags))), "[True, False]");
  EXPECT_EQ(ValueRepr(Serialize(std::vector<Pixel>{{1, 2}})), "b'\\x01\\x02'");
  EXPECT_EQ(ValueRepr(Serialize(std::vector<double>{})), "[]");
}

TEST(ObjectPython, MsgpackObjects) {
  EXPECT_EQ(ValueRepr(Serialize(42)), "42");
  EXPECT_EQ(ValueRepr(Serialize(std::map<std::string, int>{{"a", 1}})), "{'a': 1}");
  EXPECT_EQ(ValueRepr(Serialize(std::vector<bool>{true})), "[True]");  // msgpack, not raw
  EXPECT_EQ(ValueRepr(SerializeMsgpack(std::string("s"))), "'s'");
  EXPECT_EQ(ValueRepr(SerializeMsgpack(std::vector<double>{0.5, 2})), "[0.5, 2.0]");
  EXPECT_EQ(ValueRepr(Serialize(std::make_pair(1.0f, 3.0))), "[1.0, 3.0]");
}

TEST(ObjectPython, OtherObjectsAreErrors) {
  EXPECT_EQ(ValueRepr(SerializeError({.function_name = "f", .message = "boom"})).substr(0, 35),
            "TypeError: the object is not a C++ ");
  EXPECT_EQ(ValueRepr("garbage").substr(0, 30), "ValueError: not a libray objec");
  EXPECT_EQ(ValueRepr(Serialize(std::string("\xff"))).substr(0, 18), "UnicodeDecodeError");
}

TEST(ObjectPython, PythonValuesBecomeMsgpackObjectsThatCppReads) {
  PyObject* globals = PyModule_GetDict(PyImport_AddModule("__main__"));
  PyRef value(PyRun_String("{'a': [1, 2], 'b': []}", Py_eval_input, globals, globals));
  ASSERT_TRUE(value);
  std::string object;
  ASSERT_TRUE(PythonToObject(value.get(), &object));
  absl::StatusOr<ObjectHeader> header = ReadHeader(AsBytes(object));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->format, static_cast<uint8_t>(ObjectFormat::kMsgpack));
  EXPECT_STREQ(header->type_name, "dict");
  auto read = Deserialize<std::map<std::string, std::vector<int>>>(AsBytes(object));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, (std::map<std::string, std::vector<int>>{{"a", {1, 2}}, {"b", {}}}));
  auto wrong = Deserialize<int>(AsBytes(object));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);

  PyRef text(PyUnicode_FromString("hi"));
  ASSERT_TRUE(PythonToObject(text.get(), &object));
  EXPECT_EQ(*Deserialize<std::string>(AsBytes(object)), "hi");

  PyRef set(PySet_New(nullptr));
  EXPECT_FALSE(PythonToObject(set.get(), &object));
  EXPECT_TRUE(PyErr_ExceptionMatches(PyExc_TypeError));
  PyErr_Clear();
}

}  // namespace
}  // namespace ray::python
