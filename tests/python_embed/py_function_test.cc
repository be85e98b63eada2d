// ray::PyFunction on the real runtime: a C++ driver calls the functions of py_functions.py,
// which run in an interpreter embedded in its one worker (so every test also checks that the
// worker and its interpreter survived the tests before it).
#include "ray/api/py_function.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ray/api.h"
#include "tests/api/process_waits.h"

namespace {

template <typename R>
ray::PyFunction<R> Py(const char* name) {
  return ray::PyFunction<R>("py_functions", name);
}

int add_one(int x) { return x + 1; }

using ray_test::ErrorOf;

class OneWorker : public ::testing::Environment {
 public:
  void SetUp() override {
    // Workers inherit the environment: the module's folder (in the test's runfiles) on sys.path.
    char cwd[4096];
    ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
    setenv("PYTHONPATH", (std::string(cwd) + "/tests/python_embed").c_str(), 1);
    ray::Init({.num_workers = 1});
  }
  void TearDown() override { ray::Shutdown(); }
};
const auto* const one_worker = ::testing::AddGlobalTestEnvironment(new OneWorker);

TEST(PyFunction, Numbers) {
  EXPECT_EQ(Py<int>("add")(1, 2).Get(), 3);
  EXPECT_EQ(Py<int64_t>("add")(int64_t{1} << 40, -5).Get(), (int64_t{1} << 40) - 5);
  EXPECT_EQ(Py<uint64_t>("echo")(~uint64_t{0}).Get(), ~uint64_t{0});
  EXPECT_DOUBLE_EQ(Py<double>("add")(1.5, 2.25).Get(), 3.75);
  EXPECT_DOUBLE_EQ(Py<double>("add")(1, 2).Get(), 3.0);  // a Python int reads as double
  EXPECT_EQ(Py<bool>("negate")(true).Get(), false);
}

TEST(PyFunction, StringsListsDicts) {
  EXPECT_EQ(Py<std::string>("greet")("ray").Get(), "hello ray");
  EXPECT_EQ(Py<std::string>("greet")(std::string("C++")).Get(), "hello C++");
  EXPECT_EQ(Py<std::vector<double>>("scale")(std::vector<double>{1, 2.5}, 2).Get(),
            (std::vector<double>{2, 5}));
  EXPECT_EQ(Py<std::vector<int>>("echo")(std::vector<int>{3, -1}).Get(), (std::vector<int>{3, -1}));
  EXPECT_EQ((Py<std::map<std::string, int>>("count_words")("a b a").Get()),
            (std::map<std::string, int>{{"a", 2}, {"b", 1}}));
  using Nested = std::map<std::string, std::vector<std::string>>;
  EXPECT_EQ(Py<Nested>("echo")(Nested{{"k", {"x", "y"}}}).Get(), (Nested{{"k", {"x", "y"}}}));
}

TEST(PyFunction, ArgumentsArriveAsPythonTypes) {
  auto type_of = Py<std::string>("type_of");
  EXPECT_EQ(type_of(1).Get(), "int");
  EXPECT_EQ(type_of(1.0).Get(), "float");
  EXPECT_EQ(type_of(true).Get(), "bool");
  EXPECT_EQ(type_of("text").Get(), "str");
  EXPECT_EQ(type_of(std::vector<uint8_t>{1, 2}).Get(), "bytes");
  EXPECT_EQ(type_of(std::vector<float>{1}).Get(), "list");
  EXPECT_EQ(type_of(std::map<int, int>{}).Get(), "dict");
  EXPECT_EQ(type_of(std::optional<int>()).Get(), "NoneType");
}

TEST(PyFunction, ObjectRefArguments) {
  // Objects that C++ stores raw (a string, a vector of doubles) reach Python as str and list.
  EXPECT_EQ(Py<std::string>("greet")(ray::Put(std::string("store"))).Get(), "hello store");
  EXPECT_EQ(Py<std::vector<double>>("scale")(ray::Put(std::vector<double>{1, 2}), 3).Get(),
            (std::vector<double>{3, 6}));
  // A Python result as a C++ task's argument, and back.
  ray::ObjectRef<int> sum = Py<int>("add")(20, 1);
  ray::ObjectRef<int> plus_one = ray::Remote(add_one)(sum);
  EXPECT_EQ(Py<int>("add")(plus_one, sum).Get(), 43);
}

TEST(PyFunction, SeveralReturnsNoneAndOptions) {
  auto [one, name] = Py<ray::Returns<int, std::string>>("pair")();
  EXPECT_EQ(one.Get(), 1);
  EXPECT_EQ(name.Get(), "one");
  ray::ObjectRef<void> done = Py<void>("nothing")();
  done.Get();
  EXPECT_EQ(Py<int>("add").Options({.num_cpus = 0.5, .max_retries = 0})(2, 2).Get(), 4);
}

TEST(PyFunction, WrongNumberOfOptionsReturnsIsARayError) {
  EXPECT_THROW(Py<int>("add").Options({.num_returns = 2})(1, 2), ray::RayError);
  EXPECT_THROW(ray::PyFunction<int>("", "add")(1, 2), ray::RayError);
}

TEST(PyFunction, PythonExceptionIsATaskErrorWithTypeMessageAndTraceback) {
  ray::TaskError e = ErrorOf(Py<int>("fail")("boom 42"));
  EXPECT_EQ(e.exception_type(), "ValueError");
  EXPECT_EQ(e.message(), "boom 42");
  EXPECT_EQ(e.function_name(), "py_functions.fail");
  EXPECT_NE(e.info().traceback.find("raise ValueError(message)"), std::string::npos)
      << e.info().traceback;
  EXPECT_NE(e.info().traceback.find("py_functions.py"), std::string::npos);
  EXPECT_FALSE(e.task_id().empty());
  EXPECT_NE(std::string(e.what()).find("boom 42"), std::string::npos);
  EXPECT_EQ(ErrorOf(Py<int>("fail_custom")()).exception_type(), "py_functions.CustomError");
}

TEST(PyFunction, MissingModuleOrFunctionIsATaskErrorNamingIt) {
  ray::TaskError module = ErrorOf(ray::PyFunction<int>("no_such_module", "f")());
  EXPECT_EQ(module.exception_type(), "ModuleNotFoundError");
  EXPECT_NE(module.message().find("no_such_module"), std::string::npos) << module.what();
  ray::TaskError function = ErrorOf(Py<int>("no_such_function")());
  EXPECT_EQ(function.exception_type(), "AttributeError");
  EXPECT_NE(function.message().find("no_such_function"), std::string::npos) << function.what();
  ray::TaskError not_callable = ErrorOf(Py<int>("not_callable")());
  EXPECT_EQ(not_callable.exception_type(), "TypeError");
  EXPECT_NE(not_callable.message().find("py_functions.not_callable is not callable"),
            std::string::npos);
}

TEST(PyFunction, ResultOfTheWrongTypeIsATaskError) {
  ray::TaskError e = ErrorOf(Py<int>("wrong_type")());
  EXPECT_EQ(e.exception_type(), "TypeError");
  EXPECT_NE(e.message().find("does not convert"), std::string::npos) << e.what();
  EXPECT_NE(e.message().find("requested int"), std::string::npos) << e.what();
  ray::TaskError set = ErrorOf(Py<int>("unconvertible")());
  EXPECT_EQ(set.exception_type(), "TypeError");
  EXPECT_NE(set.message().find("Python set"), std::string::npos) << set.what();
  ray::TaskError pair = ErrorOf(std::get<0>(Py<ray::Returns<int, int>>("add")(1, 2)));
  EXPECT_NE(pair.message().find("tuple of 2 values"), std::string::npos) << pair.what();
  // A C++ task that reads the failed result fails with the same error.
  EXPECT_EQ(ErrorOf(ray::Remote(add_one)(Py<int>("wrong_type")())).exception_type(), "TypeError");
}

TEST(PyFunction, CallsReuseOneInterpreterInTheWorkerWhichSurvivesErrors) {
  int pid = Py<int>("pid")().Get();
  EXPECT_NE(pid, getpid());
  int first = Py<int>("count_calls")().Get();
  for (int i = 1; i <= 5; ++i) {
    EXPECT_EQ(Py<int>("count_calls")().Get(), first + i);
    ErrorOf(Py<int>("fail")("again"));
  }
  EXPECT_EQ(Py<int>("pid")().Get(), pid);
}

TEST(PyFunction, GilIsReleasedBetweenCalls) {
  Py<void>("start_ticker")().Get();
  // The ticker thread counts only while it can take the GIL: between calls, if the worker
  // released it. Up to 10 s for 20 ticks (1 ms apart): generous on a loaded machine.
  const int first = Py<int>("tick_count")().Get();
  int ticks = first;
  for (int i = 0; i < 200 && ticks < first + 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ticks = Py<int>("tick_count")().Get();
  }
  EXPECT_GE(ticks, first + 20) << "no Python thread ran while no call did";
}

TEST(PyFunction, TheGraphNamesTheTaskModuleDotFunction) {
  Py<int>("add")(20, 22).Get();
  auto graph = ray::core::CurrentRuntime()->GraphSnapshot();
  ASSERT_TRUE(graph.has_value());
  ASSERT_FALSE(graph->tasks.empty());
  EXPECT_EQ(graph->tasks.back().function, "py_functions.add");
}

}  // namespace
