// LocalRuntime through the CoreRuntime interface, with hand-written invokers (no ray/api.h).
#include "ray/core_worker/local_runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ray/api/internal/serialization.h"
#include "ray/function/function_id.h"
#include "ray/object/status.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

int add(int a, int b) { return a + b; }
int fail(int) { throw std::invalid_argument("bad input"); }

std::atomic<int> runs{0};

// Invoker of int(int, int) and int(int): reads ints, writes one int. What the function throws
// goes through (the runtime's last resort catches it).
absl::Status IntInvoker(const void* function, std::span<const ObjectValue> args,
                        ReturnWriter& returns) {
  ++runs;
  std::vector<int> values;
  for (const ObjectValue& arg : args) values.push_back(Deserialize<int>(arg.bytes).value());
  int result =
      values.size() == 2
          ? reinterpret_cast<int (*)(int, int)>(const_cast<void*>(function))(values[0], values[1])
          : reinterpret_cast<int (*)(int)>(const_cast<void*>(function))(values[0]);
  std::string bytes = Serialize(result);
  absl::StatusOr<std::span<uint8_t>> out = returns.Allocate(0, bytes.size());
  if (!out.ok()) return out.status();
  std::memcpy(out->data(), bytes.data(), bytes.size());
  return absl::OkStatus();
}

TaskArg Value(int v) { return TaskArg{ObjectID(), Serialize(v)}; }
TaskArg Ref(const ObjectID& id) { return TaskArg{id, ""}; }

TaskSpec AddSpec(TaskArg a, TaskArg b) {
  TaskSpec spec;
  spec.invoker = &IntInvoker;
  spec.function = FunctionAddress(add);
  spec.args = {std::move(a), std::move(b)};
  return spec;
}

ObjectID PutInt(LocalRuntime& rt, int v) {
  std::string bytes = Serialize(v);
  return rt
      .Put(bytes.size(),
           [&](std::span<uint8_t> out) { std::memcpy(out.data(), bytes.data(), bytes.size()); }, {})
      .value();
}

int GetInt(LocalRuntime& rt, const ObjectID& id) {
  std::vector<ObjectValue> v = rt.Get(std::span(&id, 1), absl::InfiniteDuration()).value();
  return Deserialize<int>(v.at(0).bytes).value();
}

TaskErrorInfo GetError(LocalRuntime& rt, const ObjectID& id) {
  std::vector<ObjectValue> v = rt.Get(std::span(&id, 1), absl::InfiniteDuration()).value();
  EXPECT_TRUE(IsError(v.at(0).bytes));
  return DeserializeError(v.at(0).bytes).value();
}

TEST(LocalRuntimeTest, PutGet) {
  LocalRuntime rt;
  ObjectID id = PutInt(rt, 7);
  EXPECT_TRUE(id.IsPut());
  EXPECT_EQ(GetInt(rt, id), 7);
  ObjectID other = PutInt(rt, 8);
  EXPECT_NE(id, other);
  EXPECT_EQ(id.Task(), other.Task());  // the driver's puts share its task ID
}

TEST(LocalRuntimeTest, PayloadsAreAligned) {
  LocalRuntime rt;
  std::vector<double> v(100, 1.0);
  ObjectID id =
      rt.Put(SerializedSize(v), [&](std::span<uint8_t> out) { SerializeInto(v, out); }, {}).value();
  std::vector<ObjectValue> got = rt.Get(std::span(&id, 1), absl::ZeroDuration()).value();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(got[0].bytes.data()) % 64, 0u);
  EXPECT_TRUE(DeserializeView<double>(got[0].bytes, got[0].owner).ok());
}

TEST(LocalRuntimeTest, SubmitRunsAtOnce) {
  LocalRuntime rt;
  std::vector<ObjectID> out = rt.Submit(AddSpec(Value(1), Ref(PutInt(rt, 2)))).value();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].IsPut());
  EXPECT_EQ(out[0].Index(), 1u);
  EXPECT_EQ(GetInt(rt, out[0]), 3);
  // Chained.
  std::vector<ObjectID> next = rt.Submit(AddSpec(Ref(out[0]), Ref(out[0]))).value();
  EXPECT_EQ(GetInt(rt, next[0]), 6);
  EXPECT_NE(next[0].Task(), out[0].Task());
}

TEST(LocalRuntimeTest, ExceptionsBecomeErrorObjects) {
  LocalRuntime rt;
  TaskSpec spec;
  spec.invoker = &IntInvoker;
  spec.function = FunctionAddress(fail);
  spec.args = {Value(1)};
  spec.options.num_returns = 2;  // every return value gets the error
  std::vector<ObjectID> out = rt.Submit(std::move(spec)).value();
  ASSERT_EQ(out.size(), 2u);
  for (const ObjectID& id : out) {
    TaskErrorInfo info = GetError(rt, id);
    EXPECT_EQ(info.exception_type, "std::invalid_argument");
    EXPECT_EQ(info.message, "bad input");
    EXPECT_THAT(info.function_name, HasSubstr("fail"));
    EXPECT_EQ(info.task_id, id.Task().Hex());
    EXPECT_EQ(info.pid, getpid());
  }
}

TEST(LocalRuntimeTest, ErrorArgumentsPropagateWithoutRunning) {
  LocalRuntime rt;
  TaskSpec spec;
  spec.invoker = &IntInvoker;
  spec.function = FunctionAddress(fail);
  spec.args = {Value(1)};
  ObjectID failed = rt.Submit(std::move(spec)).value()[0];
  runs = 0;
  ObjectID downstream = rt.Submit(AddSpec(Value(1), Ref(failed))).value()[0];
  EXPECT_EQ(runs, 0);
  TaskErrorInfo info = GetError(rt, downstream);
  EXPECT_EQ(info.message, "bad input");
  EXPECT_EQ(info.task_id, failed.Task().Hex());  // the original failure
}

TEST(LocalRuntimeTest, NestedTaskErrorsKeepTheFirstFailure) {
  // An invoker that returns a task's error (as the API's does when ray::Get inside a task throws).
  LocalRuntime rt;
  TaskSpec spec;
  spec.function = FunctionAddress(add);
  spec.invoker = [](const void*, std::span<const ObjectValue>, ReturnWriter&) {
    TaskErrorInfo info{"inner(int)", "std::logic_error", "deep", "abcd", 1, ""};
    return TaskFailure(info);
  };
  TaskErrorInfo info = GetError(rt, rt.Submit(std::move(spec)).value()[0]);
  EXPECT_EQ(info.function_name, "inner(int)");
  EXPECT_EQ(info.exception_type, "std::logic_error");
  EXPECT_EQ(info.message, "deep");
  EXPECT_EQ(info.task_id, "abcd");
}

// Outside a task the current task is the driver's; inside one, that task's (its results' task).
TEST(LocalRuntimeTest, CurrentTaskId) {
  LocalRuntime rt;
  static TaskID seen;
  TaskID driver = rt.CurrentTaskId();
  EXPECT_FALSE(driver.IsNil());
  TaskSpec spec = AddSpec(Value(1), Value(2));
  spec.invoker = [](const void* f, std::span<const ObjectValue> args, ReturnWriter& returns) {
    seen = CurrentRuntime()->CurrentTaskId();
    return IntInvoker(f, args, returns);
  };
  SetCurrentRuntime(&rt);
  ObjectID result = rt.Submit(std::move(spec)).value()[0];
  SetCurrentRuntime(nullptr);
  EXPECT_EQ(seen, result.Task());
  EXPECT_NE(seen, driver);
  EXPECT_EQ(rt.CurrentTaskId(), driver);
}

TEST(LocalRuntimeTest, ReturnWriterMisuseFailsTheTask) {
  LocalRuntime rt;
  TaskSpec spec;
  spec.function = FunctionAddress(add);
  spec.invoker = [](const void*, std::span<const ObjectValue>, ReturnWriter& returns) {
    return returns.Allocate(1, 100).status();  // only return 0 exists
  };
  TaskErrorInfo past = GetError(rt, rt.Submit(spec).value()[0]);
  EXPECT_THAT(past.message, HasSubstr("has only 1"));
  EXPECT_EQ(past.exception_type, "ray::RayError");  // as in a worker (driver_runtime_test.cc)
  spec.invoker = [](const void*, std::span<const ObjectValue>, ReturnWriter&) {
    return absl::OkStatus();
  };
  EXPECT_THAT(GetError(rt, rt.Submit(spec).value()[0]).message, HasSubstr("did not write"));
  spec.invoker = [](const void*, std::span<const ObjectValue>, ReturnWriter& returns) {
    (void)returns.Allocate(0, 100);
    return returns.Allocate(0, 100).status();
  };
  EXPECT_THAT(GetError(rt, rt.Submit(spec).value()[0]).message, HasSubstr("twice"));
  spec.invoker = nullptr;
  EXPECT_EQ(rt.Submit(spec).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LocalRuntimeTest, MissingArgumentFailsTheTask) {
  LocalRuntime rt;
  ObjectID id = PutInt(rt, 1);
  rt.RemoveRef(id);  // the only reference: freed
  TaskErrorInfo info = GetError(rt, rt.Submit(AddSpec(Value(1), Ref(id))).value()[0]);
  EXPECT_THAT(info.message, HasSubstr("does not exist"));
  EXPECT_EQ(info.exception_type, "ray::ObjectLostError");
}

TEST(LocalRuntimeTest, UnknownObjectsFailInsteadOfHanging) {
  LocalRuntime rt;
  ObjectID unknown = ObjectID::FromRandom();
  EXPECT_EQ(rt.Get(std::span(&unknown, 1), absl::InfiniteDuration()).status().code(),
            absl::StatusCode::kNotFound);
  // Ready, as in the driver: nothing could make it appear, and a Get of it says so.
  absl::StatusOr<WaitIndices> waited = rt.Wait(std::span(&unknown, 1), 1, absl::InfiniteDuration());
  ASSERT_TRUE(waited.ok());
  EXPECT_EQ(waited->ready, std::vector<size_t>{0});
}

TEST(LocalRuntimeTest, Wait) {
  LocalRuntime rt;
  std::vector<ObjectID> ids{PutInt(rt, 1), PutInt(rt, 2), PutInt(rt, 3)};
  WaitIndices r = rt.Wait(ids, 2, absl::ZeroDuration()).value();
  EXPECT_THAT(r.ready, ElementsAre(0, 1));
  EXPECT_THAT(r.not_ready, ElementsAre(2));
}

TEST(LocalRuntimeTest, ReferenceCounting) {
  LocalRuntime rt;
  ObjectID id = PutInt(rt, 1);
  EXPECT_EQ(rt.RefCount(id), 1);  // the caller's reference, counted by Put
  rt.AddRef(id);
  EXPECT_EQ(rt.RefCount(id), 2);
  std::vector<ObjectValue> held = rt.Get(std::span(&id, 1), absl::ZeroDuration()).value();
  rt.RemoveRef(id);
  EXPECT_EQ(rt.NumObjects(), 1u);
  rt.RemoveRef(id);
  EXPECT_EQ(rt.NumObjects(), 0u);
  EXPECT_EQ(rt.RefCount(id), -1);
  EXPECT_EQ(Deserialize<int>(held[0].bytes).value(), 1);  // the value outlives the object
  rt.RemoveRef(id);                                       // unknown: ignored
  rt.AddRef(id);
}

// Puts inside a task get IDs derived from that task.
absl::Status PutInsideInvoker(const void*, std::span<const ObjectValue>, ReturnWriter& returns) {
  auto* rt = static_cast<LocalRuntime*>(CurrentRuntime());
  ObjectID id = PutInt(*rt, 5);
  std::string hex = Serialize(id.Hex());
  std::span<uint8_t> out = returns.Allocate(0, hex.size()).value();
  std::memcpy(out.data(), hex.data(), hex.size());
  return absl::OkStatus();
}

TEST(LocalRuntimeTest, PutsInsideATaskDeriveFromIt) {
  LocalRuntime rt;
  SetCurrentRuntime(&rt);
  TaskSpec spec;
  spec.function = FunctionAddress(add);
  spec.invoker = &PutInsideInvoker;
  ObjectID result = rt.Submit(spec).value()[0];
  std::vector<ObjectValue> v = rt.Get(std::span(&result, 1), absl::ZeroDuration()).value();
  ObjectID put = ObjectID::FromHex(Deserialize<std::string>(v[0].bytes).value());
  EXPECT_TRUE(put.IsPut());
  EXPECT_EQ(put.Task(), result.Task());
  EXPECT_EQ(GetInt(rt, put), 5);
  SetCurrentRuntime(nullptr);
}

TEST(LocalRuntimeTest, ThreadSafe) {
  LocalRuntime rt;
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        ObjectID a = PutInt(rt, i);                                      // counted once
        ObjectID sum = rt.Submit(AddSpec(Ref(a), Value(t))).value()[0];  // counted once
        if (GetInt(rt, sum) != i + t) ++wrong;
        rt.RemoveRef(sum);
        rt.RemoveRef(a);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(rt.NumObjects(), 0u);
}

TEST(ErrorsTest, CaughtExceptionErrorInfo) {
  TaskID task = TaskID::FromRandom();
  try {
    throw std::out_of_range("oops");
  } catch (...) {
    TaskErrorInfo info = CaughtExceptionErrorInfo("f(int)", task);
    EXPECT_EQ(info.exception_type, "std::out_of_range");
    EXPECT_EQ(info.message, "oops");
    EXPECT_EQ(info.function_name, "f(int)");
    EXPECT_EQ(info.task_id, task.Hex());
  }
  try {
    throw 3.5;
  } catch (...) {
    TaskErrorInfo info = CaughtExceptionErrorInfo("f(int)", task);
    EXPECT_EQ(info.exception_type, "double");
    EXPECT_EQ(info.message, "");
  }
}

TEST(ErrorsTest, FunctionName) {
  EXPECT_EQ(FunctionName(FunctionAddress(add)), "ray::core::(anonymous namespace)::add(int, int)");
}

TEST(LocalRuntimeTest, ACallNamingMoreObjectsThanAMessageCarriesIsRefused) {
  LocalRuntime rt;
  TaskSpec spec = AddSpec(Value(1), Value(2));
  spec.nested_refs.assign(rpc::MAX_IDS_PER_LIST + 1, ObjectID::FromRandom());
  EXPECT_EQ(rt.Submit(std::move(spec)).status().code(), absl::StatusCode::kInvalidArgument);
  PutOptions put;
  put.nested_refs.assign(rpc::MAX_IDS_PER_LIST + 1, ObjectID::FromRandom());
  EXPECT_EQ(rt.Put(
                  0, [](std::span<uint8_t>) {}, put)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ray::core
