// ray::PyActorClass on the real multi-process runtime: a C++ driver makes actors of the classes
// of py_actors.py, which live in interpreters embedded in their workers.
#include "ray/api/py_actor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <tuple>
#include <utility>

#include "ray/api.h"
#include "tests/api/process_waits.h"

namespace {

ray::PyActorClass Counter() { return ray::PyActorClass("py_actors", "Counter"); }
template <typename R>
ray::PyActorMethod<R> Method(const char* name) {
  return ray::PyActorMethod<R>(name);
}

using ray_test::ErrorOf;
using ray_test::ProcessEnds;
using ray_test::WaitForFile;

// Tasks that use a Python actor through its handle.
int AddThrough(ray::ActorHandle<ray::PyActor> counter, int x) {
  return counter.Task(ray::PyActorMethod<int>("add")).Remote(x).Get();
}
ray::ActorHandle<ray::PyActor> MakeInTask(int start) { return Counter().Remote(start); }

// A C++ actor that calls a Python actor through the handle it was made with.
class Relay {
 public:
  explicit Relay(ray::ActorHandle<ray::PyActor> target) : target_(std::move(target)) {}
  int Add(int x) { return target_.Task(ray::PyActorMethod<int>("add")).Remote(x).Get(); }

 private:
  ray::ActorHandle<ray::PyActor> target_;
};
Relay* MakeRelay(ray::ActorHandle<ray::PyActor> target) { return new Relay(std::move(target)); }

class PyActorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Workers inherit the environment: the module's folder (in the test's runfiles) on sys.path.
    char cwd[4096];
    ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
    setenv("PYTHONPATH", (std::string(cwd) + "/tests/python_embed").c_str(), 1);
  }
  void SetUp() override {
    dir_ = testing::TempDir() + "/py_actor_test_" + std::to_string(getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_);
    ray::Init({.num_workers = 2});
  }
  void TearDown() override { ray::Shutdown(); }
  std::string dir_;
};

TEST_F(PyActorTest, MethodsKeepTheInstancesState) {
  ray::ActorHandle<ray::PyActor> c = Counter().Remote(10);
  EXPECT_EQ(c.Task(Method<int>("add")).Remote(5).Get(), 15);
  EXPECT_EQ(c.Task(Method<int>("add")).Remote(ray::Put(2)).Get(), 17);  // an ObjectRef argument
  EXPECT_EQ(c.Task(Method<std::string>("describe")).Remote("v").Get(), "v=17");
  auto [tens, ones] = c.Task(Method<ray::Returns<int, std::string>>("split")).Remote();
  EXPECT_EQ(tens.Get(), 1);
  EXPECT_EQ(ones.Get(), "7");
  c.Task(Method<void>("reset")).Remote().Get();
  EXPECT_EQ(c.Task(Method<int64_t>("get")).Remote().Get(), 0);
  // Every call runs in the actor's own process, the same one each time.
  const int pid = c.Task(Method<int>("pid")).Remote().Get();
  EXPECT_NE(pid, getpid());
  ray::ActorHandle<ray::PyActor> copy = c;
  EXPECT_EQ(copy.Task(Method<int>("pid")).Remote().Get(), pid);
  // Another actor of the class has a state and a process of its own.
  auto other = Counter().Remote(100);
  EXPECT_EQ(other.Task(Method<int>("add")).Remote(1).Get(), 101);
  EXPECT_NE(other.Task(Method<int>("pid")).Remote().Get(), pid);
  EXPECT_EQ(c.Task(Method<int>("get")).Remote().Get(), 0);
}

TEST_F(PyActorTest, AsyncMethodsRunToCompletion) {
  auto c = Counter().Remote(1);
  EXPECT_EQ(c.Task(Method<int>("add_later")).Remote(2).Get(), 3);
  EXPECT_EQ(c.Task(Method<int>("add")).Remote(4).Get(), 7);  // after the coroutine ended
  ray::TaskError raised = ErrorOf(c.Task(Method<int>("add_later")).Remote(-1));
  EXPECT_EQ(raised.exception_type(), "ValueError");
  EXPECT_EQ(raised.message(), "negative later: -1");
  // One loop serves the thread's coroutines, call after call.
  const int64_t loop = c.Task(Method<int64_t>("loop_id")).Remote().Get();
  EXPECT_EQ(c.Task(Method<int64_t>("loop_id")).Remote().Get(), loop);
}

TEST_F(PyActorTest, CallsRunInTheOrderSubmitted) {
  auto c = Counter().Remote(0);
  std::vector<ray::ObjectRef<int>> sums;
  for (int i = 1; i <= 1000; ++i) sums.push_back(c.Task(Method<int>("add")).Remote(i));
  std::vector<int> got = ray::Get(sums);
  int expected = 0;
  for (int i = 1; i <= 1000; ++i) {
    expected += i;
    ASSERT_EQ(got[i - 1], expected) << "call " << i;
  }
}

TEST_F(PyActorTest, AFailedCallLeavesTheActorRunningWithItsState) {
  auto c = Counter().Remote(5);
  ray::TaskError raised = ErrorOf(c.Task(Method<int>("add_or_raise")).Remote(-1));
  EXPECT_EQ(raised.exception_type(), "ValueError");
  EXPECT_EQ(raised.message(), "negative: -1");
  EXPECT_EQ(raised.info().function_name, "py_actors.Counter.add_or_raise");
  EXPECT_NE(raised.info().traceback.find("add_or_raise"), std::string::npos);
  // Text Python cannot encode as UTF-8 keeps its place, as an escape.
  ray::TaskError surrogate = ErrorOf(c.Task(Method<int>("raise_file_name")).Remote());
  EXPECT_EQ(surrogate.message(), "cannot parse caf\\udce9.txt");
  EXPECT_NE(surrogate.info().traceback.find("raise_file_name"), std::string::npos);
  ray::TaskError missing = ErrorOf(c.Task(Method<int>("nope")).Remote());
  EXPECT_EQ(missing.exception_type(), "AttributeError");
  EXPECT_NE(missing.message().find("nope"), std::string::npos) << missing.message();
  ray::TaskError attribute = ErrorOf(c.Task(Method<int>("not_callable")).Remote());
  EXPECT_EQ(attribute.exception_type(), "TypeError");
  EXPECT_NE(attribute.message().find("not a method"), std::string::npos) << attribute.message();
  // A result that does not read as the C++ type asked for.
  ray::TaskError result = ErrorOf(c.Task(Method<int>("describe")).Remote("x"));
  EXPECT_EQ(result.exception_type(), "TypeError");
  EXPECT_NE(result.message().find("does not convert"), std::string::npos) << result.message();
  // Arguments Python rejects: a str added to an int, a missing argument.
  EXPECT_EQ(ErrorOf(c.Task(Method<int>("add")).Remote("x")).exception_type(), "TypeError");
  EXPECT_EQ(ErrorOf(c.Task(Method<int>("add")).Remote()).exception_type(), "TypeError");
  EXPECT_EQ(c.Task(Method<int>("add_or_raise")).Remote(2).Get(), 7);
}

TEST_F(PyActorTest, ACreationThatFailsFailsTheCallsAndItsErrorSaysWhy) {
  struct Case {
    ray::PyActorClass cls;
    std::string type;
    std::string message;
  };
  for (const Case& bad : {
           Case{ray::PyActorClass("no_such_module", "Counter"), "ModuleNotFoundError",
                "no_such_module"},
           Case{ray::PyActorClass("py_actors", "NoSuchClass"), "AttributeError", "NoSuchClass"},
           Case{ray::PyActorClass("py_actors", "not_a_class"), "TypeError", "not a class"},
           Case{ray::PyActorClass("py_actors", "Failing"), "RuntimeError", "no counter today"},
       }) {
    auto actor = bad.cls.Remote();
    try {
      actor.Task(Method<int>("get")).Remote().Get();
      ADD_FAILURE() << "a call of an actor whose creation failed succeeded";
    } catch (const ray::ActorDiedError& e) {
      const std::string why = e.what();
      EXPECT_NE(why.find("its factory failed: " + bad.type), std::string::npos) << why;
      EXPECT_NE(why.find(bad.message), std::string::npos) << why;
    }
    // The creation's own error: its handle's object.
    ray::TaskError error = ErrorOf(ray::ObjectRef<std::string>(actor.ID()));
    EXPECT_EQ(error.exception_type(), bad.type) << bad.cls.class_name();
    EXPECT_NE(error.message().find(bad.message), std::string::npos) << error.message();
  }
  // The constructor's arguments are checked by Python: a missing one fails the creation too.
  auto actor = Counter().Remote();
  EXPECT_EQ(ErrorOf(ray::ObjectRef<std::string>(actor.ID())).exception_type(), "TypeError");
}

TEST_F(PyActorTest, KillEndsTheActorsProcess) {
  auto c = Counter().Remote(1);
  const int pid = c.Task(Method<int>("pid")).Remote().Get();
  c.Kill();
  EXPECT_THROW(c.Task(Method<int>("get")).Remote().Get(), ray::ActorDiedError);
  EXPECT_TRUE(ProcessEnds(pid)) << "the actor's process " << pid << " still runs";
}

TEST_F(PyActorTest, TheInstanceIsReleasedWhenTheLastHandleIsGone) {
  const std::string goodbye = dir_ + "/goodbye";
  {
    auto c = Counter().Remote(1, goodbye);
    EXPECT_EQ(c.Task(Method<int>("add")).Remote(41).Get(), 42);
  }
  EXPECT_EQ(WaitForFile(goodbye), "value 42");  // written by its __del__
}

TEST_F(PyActorTest, HandlesTravelIntoAndOutOfTasksAndActors) {
  auto c = Counter().Remote(1);
  EXPECT_EQ(ray::Remote(AddThrough)(c, 2).Get(), 3);
  ray::ActorHandle<ray::PyActor> made = ray::Remote(MakeInTask)(40).Get();
  EXPECT_EQ(made.Task(Method<int>("add")).Remote(2).Get(), 42);
  ray::ObjectRef<ray::ActorHandle<ray::PyActor>> stored = ray::Put(made);
  EXPECT_EQ(stored.Get().Task(Method<int>("get")).Remote().Get(), 42);
  EXPECT_EQ(c.Task(Method<int>("get")).Remote().Get(), 3);
  ray::ActorHandle<Relay> relay = ray::Actor(MakeRelay).Remote(c);
  EXPECT_EQ(relay.Task(&Relay::Add).Remote(4).Get(), 7);
  EXPECT_EQ(c.Task(Method<int>("get")).Remote().Get(), 7);
}

TEST_F(PyActorTest, NamedActorsAreFoundAndOptionsAreChecked) {
  auto c = Counter().Options({.name = "py-counter"}).Remote(7);
  std::optional<ray::ActorHandle<ray::PyActor>> found = ray::GetActor<ray::PyActor>("py-counter");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->Task(Method<int>("add")).Remote(1).Get(), 8);
  try {
    Counter().Options({.name = "py-counter"}).Remote(1);
    ADD_FAILURE() << "the name is taken";
  } catch (const ray::RayError& e) {  // named as called
    EXPECT_NE(std::string(e.what()).find("ray::PyActorClass(\"py_actors\", \"Counter\").Options("
                                         "{.name = \"py-counter\"}).Remote(): the name is taken"),
              std::string::npos)
        << e.what();
  }
  try {
    Counter().Options({.max_restarts = -2}).Remote(1);
    ADD_FAILURE() << "max_restarts -2";
  } catch (const ray::RayError& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("ray::PyActorClass(\"py_actors\"")) << e.what();
  }
  EXPECT_THROW(ray::PyActorClass("", "Counter").Remote(), ray::RayError);
  EXPECT_THROW(c.Task(Method<int>("")).Remote(), ray::RayError);
}

TEST_F(PyActorTest, ARestartRunsTheConstructorAgain) {
  auto c = Counter().Options({.max_restarts = 1}).Remote(10);
  EXPECT_EQ(c.Task(Method<int>("add")).Remote(5).Get(), 15);
  const int pid = c.Task(Method<int>("pid")).Remote().Get();
  c.Kill(/*no_restart=*/false);
  EXPECT_TRUE(ProcessEnds(pid));
  EXPECT_EQ(c.Task(Method<int>("get")).Remote().Get(), 10);  // its state starts over
  EXPECT_NE(c.Task(Method<int>("pid")).Remote().Get(), pid);
}

}  // namespace
