// Across languages on other nodes: a C++ driver joins a head and three nodes of the real `ray`
// binary; its tasks on those nodes use the RAY_REMOTE functions of its program (registered by
// name there too) and call Python functions and actors (ray::PyFunction, ray::PyActorClass, in an
// interpreter the remote worker embeds) found on the driver's PYTHONPATH; on a node whose Python
// cannot start, they fail saying so.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "ray/api.h"
#include "ray/api/py_actor.h"
#include "ray/api/py_function.h"
#include "ray/core_worker/function_registry.h"
#include "tests/cluster/ray_cli.h"

namespace ray::testing {
namespace {

std::string WhereAmI() { return ray::GetRuntimeContext().GetNodeId(); }

int Add(int a, int b) { return a + b; }
std::string Greet(const std::string& name) { return "hello " + name; }
RAY_REMOTE(Add, Greet);

// The names this program registered with RAY_REMOTE (its table, as a loader reads it), in the
// process that runs this.
std::vector<std::string> RegisteredNames() {
  std::vector<std::string> names;
  size_t count = 0;
  const core::RegisteredFunction* entries = ray_registered_functions(&count);
  for (size_t i = 0; i < count; ++i) names.push_back(entries[i].name);
  return names;
}

// Where it ran, the names registered there, and the results of the registered functions called
// as tasks on the node with `resource` (from inside this task: nested, across nodes).
std::vector<std::string> CallRegisteredOn(std::string resource) {
  ray::TaskOptions there{.resources = {{resource, 1}}};
  auto sum = ray::Remote(Add).Options(there)(40, 2);
  auto greeting = ray::Remote(Greet).Options(there)("ray");
  auto where = ray::Remote(WhereAmI).Options(there)();
  std::vector<std::string> out = {WhereAmI(), ray::Get(where), std::to_string(ray::Get(sum)),
                                  ray::Get(greeting)};
  for (const std::string& name : RegisteredNames()) out.push_back(name);
  return out;
}

// Calls the Python function add on the node with `resource`, from a task: where this ran, and
// what add returned.
std::vector<std::string> CallPythonOn(std::string resource) {
  auto sum = ray::PyFunction<int>("cluster_py_functions", "add")
                 .Options({.resources = {{resource, 1}}})(1, 2);
  return {WhereAmI(), std::to_string(sum.Get())};
}

class CrossLanguageTest : public RayCliTest {
 protected:
  void SetUp() override {
    RayCliTest::SetUp();
    head_ = AddNode({.num_cpus = 1, .resources = R"({"head_box": 1})"});
    a_ = AddNode({.num_cpus = 2, .resources = R"({"a_box": 2})"});
    b_ = AddNode({.num_cpus = 2, .resources = R"({"b_box": 2})"});
    // A node whose Python cannot start (no standard library where it looks): its workers run
    // C++ tasks, and Python ones fail saying why.
    setenv("PYTHONHOME", "/nonexistent", 1);
    no_python_ = AddNode({.num_cpus = 1, .resources = R"({"no_python_box": 1})"});
    unsetenv("PYTHONHOME");
    // The driver's PYTHONPATH, relative as a user might set it: the module's folder in the
    // runfiles (the working directory). Workers on other nodes must get it too.
    setenv("PYTHONPATH", "tests/cluster", 1);
    ray::Init({.num_workers = 1, .address = address_});
  }
  void TearDown() override {
    ray::Shutdown();
    unsetenv("PYTHONPATH");
    RayCliTest::TearDown();
  }
  template <typename R>
  ray::PyFunction<R> PyOn(const std::string& resource, const char* name) {
    return ray::PyFunction<R>("cluster_py_functions", name).Options({.resources = {{resource, 1}}});
  }
  StartedNode head_, a_, b_, no_python_;
};

TEST_F(CrossLanguageTest, RegisteredFunctionsRunOnOtherNodes) {
  std::vector<std::string> out =
      ray::Get(ray::Remote(CallRegisteredOn).Options({.resources = {{"a_box", 1}}})("b_box"));
  ASSERT_GE(out.size(), 4u);
  EXPECT_EQ(out[0], a_.id);
  EXPECT_EQ(out[1], b_.id);
  EXPECT_EQ(out[2], "42");
  EXPECT_EQ(out[3], "hello ray");
  std::vector<std::string> names(out.begin() + 4, out.end());
  EXPECT_EQ(names, (std::vector<std::string>{"Add", "Greet"}));
}

TEST_F(CrossLanguageTest, PythonFunctionsRunOnOtherNodes) {
  EXPECT_EQ(PyOn<int>("a_box", "add")(1, 2).Get(), 3);
  EXPECT_EQ(PyOn<std::string>("b_box", "add")("ab", "c").Get(), "abc");
  // Started by the node's own process: it ran there, not on the driver's node.
  EXPECT_EQ(PyOn<int>("a_box", "parent_pid")().Get(), a_.pid);
  EXPECT_EQ(PyOn<int>("b_box", "parent_pid")().Get(), b_.pid);
  // From a C++ task on one node, to Python on another.
  std::vector<std::string> out =
      ray::Get(ray::Remote(CallPythonOn).Options({.resources = {{"a_box", 1}}})("head_box"));
  EXPECT_EQ(out, (std::vector<std::string>{a_.id, "3"}));
  EXPECT_EQ(PyOn<int>("head_box", "parent_pid")().Get(), head_.pid);
}

TEST_F(CrossLanguageTest, PythonErrorsOnOtherNodesAreTaskErrors) {
  try {
    PyOn<int>("a_box", "fail")("boom 7").Get();
    FAIL() << "no TaskError";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.info().exception_type, "ValueError");
    EXPECT_NE(std::string(e.what()).find("boom 7"), std::string::npos) << e.what();
  }
  try {
    ray::PyFunction<int>("no_such_module", "f").Options({.resources = {{"a_box", 1}}})().Get();
    FAIL() << "no TaskError";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.info().exception_type, "ModuleNotFoundError") << e.what();
  }
  EXPECT_EQ(PyOn<int>("a_box", "add")(2, 2).Get(), 4);  // the worker lives on
}

TEST_F(CrossLanguageTest, PythonActorsRunOnOtherNodes) {
  auto tally = ray::PyActorClass("cluster_py_functions", "Tally")
                   .Options({.resources = {{"b_box", 1}}})
                   .Remote(10);
  EXPECT_EQ(tally.Task(ray::PyActorMethod<int>("add")).Remote(5).Get(), 15);
  EXPECT_EQ(tally.Task(ray::PyActorMethod<int>("parent_pid")).Remote().Get(), b_.pid);
  // A C++ task on another node calls it through its handle.
  auto from_a = ray::Remote([](ray::ActorHandle<ray::PyActor> t) {
                  return t.Task(ray::PyActorMethod<int>("add")).Remote(1).Get();
                }).Options({.resources = {{"a_box", 1}}})(tally);
  EXPECT_EQ(ray::Get(from_a), 16);
  // On a node whose Python cannot start, the actor is never made, saying why.
  auto broken = ray::PyActorClass("cluster_py_functions", "Tally")
                    .Options({.resources = {{"no_python_box", 1}}})
                    .Remote(0);
  try {
    broken.Task(ray::PyActorMethod<int>("add")).Remote(1).Get();
    FAIL() << "an actor was made without Python";
  } catch (const ray::ActorDiedError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot start the embedded Python interpreter"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(CrossLanguageTest, ANodeWhosePythonCannotStartFailsPythonTasksSayingSo) {
  try {
    PyOn<int>("no_python_box", "add")(1, 2).Get();
    FAIL() << "no TaskError";
  } catch (const ray::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot start the embedded Python interpreter"),
              std::string::npos)
        << e.what();
  }
  auto where = ray::Remote(WhereAmI).Options({.resources = {{"no_python_box", 1}}})();
  EXPECT_EQ(ray::Get(where), no_python_.id);  // its C++ tasks run
}

}  // namespace
}  // namespace ray::testing
