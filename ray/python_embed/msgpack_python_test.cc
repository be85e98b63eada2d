#include "ray/python_embed/msgpack_python.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "ray/python_embed/py_ref.h"
#include "ray/python_embed/python_test_util.h"

namespace ray::python {
namespace {

// Evaluates an expression (Py_eval_input) or runs statements (Py_file_input) in __main__.
PyRef Eval(const std::string& code, int start = Py_eval_input) {
  PyObject* globals = PyModule_GetDict(PyImport_AddModule("__main__"));  // borrowed
  PyRef value(PyRun_String(code.c_str(), start, globals, globals));
  if (!value) PyErr_Print();
  return value;
}

std::string Repr(PyObject* value) {
  PyRef repr(PyObject_Repr(value));
  return repr ? PyUnicode_AsUTF8(repr.get()) : "<no repr>";
}

std::string Pack(const std::string& expression) {
  PyRef value = Eval(expression);
  std::string out;
  EXPECT_TRUE(PackPython(value.get(), &out)) << expression << ": " << TakePythonError();
  return out;
}

std::string PackError(const std::string& expression) {
  PyRef value = Eval(expression);
  std::string out;
  EXPECT_FALSE(PackPython(value.get(), &out)) << expression;
  return TakePythonError();
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string UnpackRepr(const std::string& payload) {
  PyRef value(UnpackToPython(Bytes(payload)));
  return value ? Repr(value.get()) : TakePythonError();
}

template <typename T>
std::string CppPacked(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return std::string(buffer.data(), buffer.size());
}

// Python -> msgpack -> Python gives an equal value of the expected type.
void ExpectRoundTrip(const std::string& expression, const std::string& expected_repr) {
  EXPECT_EQ(UnpackRepr(Pack(expression)), expected_repr) << expression;
}

TEST(MsgpackPython, ScalarsRoundTrip) {
  ExpectRoundTrip("None", "None");
  ExpectRoundTrip("True", "True");
  ExpectRoundTrip("False", "False");
  ExpectRoundTrip("0", "0");
  ExpectRoundTrip("-1", "-1");
  ExpectRoundTrip("2**63 - 1", "9223372036854775807");
  ExpectRoundTrip("-2**63", "-9223372036854775808");
  ExpectRoundTrip("2**64 - 1", "18446744073709551615");
  ExpectRoundTrip("1.5", "1.5");
  ExpectRoundTrip("2.0", "2.0");  // a float, though msgpack-cxx would write an int
  ExpectRoundTrip("-0.0", "-0.0");
  ExpectRoundTrip("float('inf')", "inf");
  ExpectRoundTrip("'héllo'", "'héllo'");
  ExpectRoundTrip("''", "''");
  ExpectRoundTrip("b'\\x00\\xff'", "b'\\x00\\xff'");
  ExpectRoundTrip("bytearray(b'ab')", "b'ab'");
  ExpectRoundTrip("memoryview(b'abc')[1:]", "b'bc'");
}

TEST(MsgpackPython, ContainersRoundTrip) {
  ExpectRoundTrip("[1, 'a', [2.5, None], {'k': [True]}]", "[1, 'a', [2.5, None], {'k': [True]}]");
  ExpectRoundTrip("(1, 2)", "[1, 2]");
  ExpectRoundTrip("{1: 'one', 'two': 2, (3, 4): b'x'}", "{1: 'one', 'two': 2, (3, 4): b'x'}");
  ExpectRoundTrip("[]", "[]");
  ExpectRoundTrip("{}", "{}");
}

TEST(MsgpackPython, SubclassesPackAsTheirBase) {
  ASSERT_TRUE(Eval("import enum\nclass Color(enum.IntEnum):\n  RED = 3\n", Py_file_input));
  ExpectRoundTrip("Color.RED", "3");
}

TEST(MsgpackPython, EncodingsAreTheCompactOnes) {
  EXPECT_EQ(Pack("None"), "\xc0");
  EXPECT_EQ(Pack("True"), "\xc3");
  EXPECT_EQ(Pack("5"), "\x05");
  EXPECT_EQ(Pack("-1"), "\xff");
  EXPECT_EQ(Pack("2**64 - 1"), std::string("\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9));
  EXPECT_EQ(Pack("'a'"), std::string("\xa1") + "a");
  EXPECT_EQ(Pack("b'a'"), std::string("\xc4\x01") + "a");
  // The same bytes as msgpack-cxx writes for the C++ values.
  EXPECT_EQ(Pack("{'a': 1}"), CppPacked(std::map<std::string, int>{{"a", 1}}));
  EXPECT_EQ(Pack("[1.5, -2.5]"), CppPacked(std::vector<double>{1.5, -2.5}));
  EXPECT_EQ(Pack("1.0"), std::string("\xcb\x3f\xf0\0\0\0\0\0\0", 9));
}

TEST(MsgpackPython, IntsBeyondSixtyFourBitsAreOverflowErrors) {
  EXPECT_EQ(PackError("2**64").substr(0, 14), "OverflowError:");
  EXPECT_NE(PackError("-2**63 - 1").find("64"), std::string::npos);
  EXPECT_NE(PackError("[1, 10**30]").find("OverflowError"), std::string::npos);
}

TEST(MsgpackPython, OtherTypesAreTypeErrorsNamingTheType) {
  EXPECT_NE(PackError("{1, 2}").find("TypeError: cannot convert a Python set"), std::string::npos);
  EXPECT_NE(PackError("[object()]").find("Python object"), std::string::npos);
  EXPECT_NE(PackError("1j").find("complex"), std::string::npos);
  EXPECT_NE(PackError("{'k': range(3)}").find("range"), std::string::npos);
}

TEST(MsgpackPython, SelfContainingListIsAValueError) {
  ASSERT_TRUE(Eval("loop = []\nloop.append(loop)\n", Py_file_input));
  EXPECT_NE(PackError("loop").find("ValueError: the value is nested deeper than 512"),
            std::string::npos);
}

TEST(MsgpackPython, NumpyScalars) {
  if (!Eval("import numpy as np\n", Py_file_input)) GTEST_SKIP() << "no numpy";
  ExpectRoundTrip("np.int64(-7)", "-7");
  ExpectRoundTrip("np.uint64(2**64 - 1)", "18446744073709551615");
  ExpectRoundTrip("np.float32(1.5)", "1.5");
  ExpectRoundTrip("np.float64(2.5)", "2.5");
  ExpectRoundTrip("np.bool_(True)", "True");
  ExpectRoundTrip("[np.int8(1), np.str_('s')]", "[1, 's']");
  EXPECT_NE(PackError("np.zeros(2)").find("numpy.ndarray"), std::string::npos);
}

TEST(MsgpackPython, CppValuesToPython) {
  EXPECT_EQ(UnpackRepr(CppPacked(std::map<std::string, std::vector<int>>{{"a", {1, -2}}})),
            "{'a': [1, -2]}");
  EXPECT_EQ(UnpackRepr(CppPacked(std::vector<uint8_t>{1, 2})), "b'\\x01\\x02'");  // bin
  EXPECT_EQ(UnpackRepr(CppPacked(1.5f)), "1.5");
  EXPECT_EQ(UnpackRepr(CppPacked(std::make_tuple(true, std::string("s"), uint64_t{1} << 63))),
            "[True, 's', 9223372036854775808]");
  EXPECT_EQ(UnpackRepr(CppPacked(std::map<std::vector<int>, int>{{{1, 2}, 3}})), "{(1, 2): 3}");
}

TEST(MsgpackPython, BadPayloadsAreErrors) {
  EXPECT_NE(UnpackRepr("").find("ValueError: malformed msgpack"), std::string::npos);
  EXPECT_NE(UnpackRepr("\x92\x01").find("ValueError: malformed msgpack"), std::string::npos);
  EXPECT_NE(UnpackRepr("\x01\x02").find("ValueError: malformed msgpack: 1 bytes after"),
            std::string::npos);
  EXPECT_NE(UnpackRepr("\xdd\xff\xff\xff\xff").find("ValueError"), std::string::npos);
  EXPECT_NE(UnpackRepr("\xa2\xff\xfe").find("UnicodeDecodeError"), std::string::npos);
  EXPECT_NE(UnpackRepr(std::string("\xd4\x05\x00", 3)).find("TypeError: msgpack ext type 5"),
            std::string::npos);
  EXPECT_NE(UnpackRepr(std::string("\x81\x81\x01\x02\x03", 5)).find("TypeError"),
            std::string::npos);  // a map as a map key: unhashable
  std::string deep(600, '\x91');
  deep += '\x01';
  EXPECT_NE(UnpackRepr(deep).find("ValueError"), std::string::npos);
}

}  // namespace
}  // namespace ray::python
