// The multi-process runtime beneath the API: real zygote, store and worker processes.
#include "ray/core_worker/driver_runtime.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <utility>

#include "ray/api/internal/serialization.h"
#include "ray/object/status.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {
namespace {

int Add(int a, int b) { return a + b; }
int Fail(int) { throw std::invalid_argument("bad input"); }
int Pid(int) { return getpid(); }
int SleepMs(int ms) {
  usleep(ms * 1000);
  return ms;
}

// A barrier across processes: files in a folder. MakeBarrier() names it and must run before
// the runtime starts (workers are forks of that moment); ClearBarrier() empties it. Arrive(name)
// adds a file; ArriveAndWait(n) adds one for this process and waits (up to 60 s) until there
// are n, then returns its pid.
std::string& BarrierDir() {
  static auto* const dir = new std::string;
  return *dir;
}
void Arrive(const std::string& name) { std::ofstream(BarrierDir() + "/" + name).put('1'); }
int ArriveAndWait(int n) {
  Arrive(std::to_string(getpid()));
  for (int i = 0; i < 6000; ++i) {
    auto files = std::filesystem::directory_iterator(BarrierDir());
    if (std::distance(begin(files), end(files)) >= n) break;
    usleep(10 * 1000);
  }
  return getpid();
}
void ClearBarrier() {
  std::filesystem::remove_all(BarrierDir());
  std::filesystem::create_directories(BarrierDir());
}
void MakeBarrier() {
  const char* tmp = getenv("TEST_TMPDIR");
  BarrierDir() =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/barrier-" + std::to_string(getpid());
  ClearBarrier();
}

// A hand-written invoker for int(int, int) and int(int) functions. What the function throws
// goes through (the worker's last resort catches it).
template <typename... Args>
absl::Status IntInvoker(const void* function, std::span<const ObjectValue> args,
                        ReturnWriter& out) {
  auto fn = reinterpret_cast<int (*)(Args...)>(const_cast<void*>(function));
  // Argument I read from args[I] (an index per argument: the order in which a call's arguments
  // are evaluated is unspecified).
  auto call = [&]<size_t... I>(std::index_sequence<I...>) {
    return fn(Deserialize<Args>(args[I].bytes).value()...);
  };
  int result = call(std::index_sequence_for<Args...>{});
  absl::StatusOr<std::span<uint8_t>> bytes = out.Allocate(0, SerializedSize(result));
  if (!bytes.ok()) return bytes.status();
  SerializeInto(result, *bytes);
  return absl::OkStatus();
}

TaskArg Value(int v) { return TaskArg{ObjectID(), Serialize(v)}; }
TaskArg Ref(const ObjectID& id) { return TaskArg{id, ""}; }

int GetInt(CoreRuntime& runtime, const ObjectID& id) {
  auto values = runtime.Get({&id, 1}, absl::Seconds(30)).value();
  auto value = Deserialize<int>(values[0].bytes);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.value_or(-1);
}

// Submits fn(arg), an int(int) function; the ID of its result.
ObjectID SubmitInt(CoreRuntime& runtime, int (*fn)(int), int arg) {
  return runtime
      .Submit(TaskSpec{&IntInvoker<int>, reinterpret_cast<const void*>(fn), {Value(arg)}, {}})
      .value()[0];
}

// The int `id` holds, waiting without a timeout: only such gets let their worker run other
// tasks while they wait (at max_workers).
absl::StatusOr<int> GetIntUntimed(CoreRuntime& runtime, const ObjectID& id) {
  auto values = runtime.Get({&id, 1}, absl::InfiniteDuration());
  if (!values.ok()) return values.status();
  return Deserialize<int>((*values)[0].bytes);
}

class DriverRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MakeBarrier();
    auto runtime = DriverRuntime::Start({.num_workers = 2, .object_store_memory = 256 << 20});
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = *std::move(runtime);
    SetCurrentRuntime(runtime_.get());
  }
  void TearDown() override { SetCurrentRuntime(nullptr); }

  TaskSpec Spec(int (*fn)(int, int), std::vector<TaskArg> args) {
    return TaskSpec{&IntInvoker<int, int>, reinterpret_cast<const void*>(fn), std::move(args), {}};
  }
  TaskSpec Spec1(int (*fn)(int), std::vector<TaskArg> args) {
    return TaskSpec{&IntInvoker<int>, reinterpret_cast<const void*>(fn), std::move(args), {}};
  }

  std::unique_ptr<DriverRuntime> runtime_;
};

TEST_F(DriverRuntimeTest, RunsATaskInAnotherProcess) {
  auto ids = runtime_->Submit(Spec(&Add, {Value(1), Value(2)})).value();
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(GetInt(*runtime_, ids[0]), 3);
  auto pid = runtime_->Submit(Spec1(&Pid, {Value(0)})).value();
  EXPECT_NE(GetInt(*runtime_, pid[0]), getpid());
}

TEST_F(DriverRuntimeTest, ChainsTasksThroughRefs) {
  ObjectID x = runtime_->Submit(Spec(&Add, {Value(0), Value(1)})).value()[0];
  for (int i = 0; i < 100; ++i) {
    ObjectID next = runtime_->Submit(Spec(&Add, {Ref(x), Value(1)})).value()[0];
    runtime_->RemoveRef(x);
    x = next;
  }
  EXPECT_EQ(GetInt(*runtime_, x), 101);
}

TEST_F(DriverRuntimeTest, PutValuesAndLargeObjects) {
  std::string small = Serialize(41);
  ObjectID id = runtime_
                    ->Put(small.size(),
                          [&](std::span<uint8_t> out) {
                            std::memcpy(out.data(), small.data(), small.size());
                          },
                          {})
                    .value();
  EXPECT_EQ(GetInt(*runtime_, runtime_->Submit(Spec(&Add, {Ref(id), Value(1)})).value()[0]), 42);
  std::vector<double> big(1 << 20, 1.5);
  ObjectID big_id =
      runtime_
          ->Put(SerializedSize(big), [&](std::span<uint8_t> out) { SerializeInto(big, out); }, {})
          .value();
  auto values = runtime_->Get({&big_id, 1}, absl::Seconds(10)).value();
  auto back = Deserialize<std::vector<double>>(values[0].bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, big);
}

TEST_F(DriverRuntimeTest, ExceptionsBecomeErrorObjectsAndPropagate) {
  ObjectID failed = runtime_->Submit(Spec1(&Fail, {Value(1)})).value()[0];
  ObjectID downstream = runtime_->Submit(Spec(&Add, {Ref(failed), Value(1)})).value()[0];
  for (ObjectID id : {failed, downstream}) {
    auto values = runtime_->Get({&id, 1}, absl::Seconds(30)).value();
    ASSERT_TRUE(IsError(values[0].bytes));
    auto info = DeserializeError(values[0].bytes);
    ASSERT_TRUE(info.ok());
    EXPECT_NE(info->function_name.find("Fail"), std::string::npos) << info->function_name;
    EXPECT_EQ(info->message, "bad input");
    EXPECT_EQ(info->exception_type, "std::invalid_argument");
  }
}

TEST_F(DriverRuntimeTest, GetTimesOut) {
  ObjectID slow = runtime_->Submit(Spec1(&SleepMs, {Value(2000)})).value()[0];
  EXPECT_EQ(runtime_->Get({&slow, 1}, absl::Milliseconds(50)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(DriverRuntimeTest, AnUnknownOrFreedObjectIsAnErrorNotAWait) {
  ObjectID never = ObjectID::ForReturn(TaskID::FromRandom(), 1);
  runtime_->AddRef(never);  // no such object: counting it does not make it pending
  auto values = runtime_->Get({&never, 1}, absl::Seconds(30)).value();
  ASSERT_TRUE(IsError(values[0].bytes));
  auto info = DeserializeError(values[0].bytes);
  ASSERT_TRUE(info.ok());
  EXPECT_NE(info->message.find("does not exist"), std::string::npos) << info->message;
  EXPECT_EQ(info->exception_type, "ray::ObjectLostError");
  ObjectID freed = runtime_->Submit(Spec(&Add, {Value(1), Value(2)})).value()[0];
  EXPECT_EQ(GetInt(*runtime_, freed), 3);
  runtime_->RemoveRef(freed);  // the last reference: the object is freed
  runtime_->AddRef(freed);
  EXPECT_TRUE(IsError(runtime_->Get({&freed, 1}, absl::Seconds(30)).value()[0].bytes));
}

// A return index past num_returns, or written twice, fails the task in a worker as it does in
// local mode (ray/core_worker/local_runtime_test.cc): the same check, the same error type.
TEST_F(DriverRuntimeTest, ReturnWriterMisuseFailsTheTaskAsInLocalMode) {
  auto error_of = [&](Invoker invoker) {
    TaskSpec spec = Spec1(&Pid, {Value(0)});
    spec.invoker = invoker;
    ObjectID id = runtime_->Submit(std::move(spec)).value()[0];
    auto values = runtime_->Get({&id, 1}, absl::Seconds(30)).value();
    EXPECT_TRUE(IsError(values[0].bytes));
    return DeserializeError(values[0].bytes).value_or(TaskErrorInfo{});
  };
  TaskErrorInfo past = error_of([](const void*, std::span<const ObjectValue>, ReturnWriter& out) {
    return out.Allocate(1, 8).status();  // only return 0 exists
  });
  EXPECT_EQ(past.exception_type, "ray::RayError");
  EXPECT_NE(past.message.find("has only 1"), std::string::npos) << past.message;
  TaskErrorInfo twice = error_of([](const void*, std::span<const ObjectValue>, ReturnWriter& out) {
    (void)out.Allocate(0, 8);
    return out.Allocate(0, 8).status();
  });
  EXPECT_EQ(twice.exception_type, "ray::RayError");
  EXPECT_NE(twice.message.find("twice"), std::string::npos) << twice.message;
}

// A value that references other objects (IDs inside it) keeps them alive.
TEST_F(DriverRuntimeTest, NestedReferencesLiveAsLongAsTheirHolder) {
  ObjectID inner = runtime_->Submit(Spec(&Add, {Value(20), Value(1)})).value()[0];
  std::string bytes = Serialize(0);
  ObjectID outer = runtime_
                       ->Put(bytes.size(),
                             [&](std::span<uint8_t> out) {
                               std::memcpy(out.data(), bytes.data(), bytes.size());
                             },
                             {.nested_refs = {inner}})
                       .value();
  runtime_->RemoveRef(inner);  // only `outer` holds it now
  EXPECT_EQ(GetInt(*runtime_, inner), 21);
  TaskSpec reader = Spec1(&ArriveAndWait, {Value(2)});  // runs until the test arrives too
  reader.nested_refs = {outer};                         // its arguments mention `outer`
  ObjectID done = runtime_->Submit(std::move(reader)).value()[0];
  runtime_->RemoveRef(outer);  // only the task holds `outer`, and through it `inner`
  EXPECT_EQ(GetInt(*runtime_, inner), 21);
  Arrive("test");
  EXPECT_NE(GetInt(*runtime_, done), getpid());
  // The task ended: nothing holds `outer` or `inner` any more.
  EXPECT_TRUE(IsError(runtime_->Get({&outer, 1}, absl::Seconds(30)).value()[0].bytes));
  EXPECT_TRUE(IsError(runtime_->Get({&inner, 1}, absl::Seconds(30)).value()[0].bytes));
}

TEST(DriverRuntimeIdleTest, ExtraWorkersExitWhenIdle) {
  MakeBarrier();
  auto runtime = DriverRuntime::Start({.num_workers = 1,
                                       .num_cpus = 4,
                                       .object_store_memory = 64 << 20,
                                       .idle_worker_timeout = absl::Milliseconds(200)});
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  DriverRuntime& rt = **runtime;
  SetCurrentRuntime(&rt);
  // Four CPUs free and one worker: three more start, and four tasks that wait for each other
  // run at once on four different workers.
  auto four_at_once = [&] {
    ClearBarrier();
    std::vector<ObjectID> ids;
    for (int i = 0; i < 4; ++i) {
      ids.push_back(SubmitInt(rt, &ArriveAndWait, 4));
    }
    std::set<int> pids;
    for (const ObjectID& id : ids) pids.insert(GetInt(rt, id));
    return std::vector<pid_t>(pids.begin(), pids.end());
  };
  std::vector<pid_t> before = four_at_once();
  EXPECT_EQ(before.size(), 4u);
  for (int i = 0; i < 300 && rt.worker_pids().size() > 1; ++i) usleep(100 * 1000);
  EXPECT_EQ(rt.worker_pids().size(), 1u);  // back to num_workers
  int exited = 0;
  for (pid_t pid : before) exited += kill(pid, 0) != 0;
  for (int i = 0; i < 100 && exited < 3; ++i) {  // the processes are gone too
    usleep(100 * 1000);
    exited = 0;
    for (pid_t pid : before) exited += kill(pid, 0) != 0;
  }
  EXPECT_EQ(exited, 3);
  EXPECT_EQ(four_at_once().size(), 4u);  // and they come back when needed
  SetCurrentRuntime(nullptr);
}

// fib(n) as tasks that wait for their two children: every level blocks a worker.
int Fib(int n) {
  if (n < 2) return n;
  CoreRuntime& rt = *CurrentRuntime();
  ObjectID a = SubmitInt(rt, &Fib, n - 1), b = SubmitInt(rt, &Fib, n - 2);
  int sum = GetIntUntimed(rt, a).value_or(-1) + GetIntUntimed(rt, b).value_or(-1);
  rt.RemoveRef(a);
  rt.RemoveRef(b);
  return sum;
}

// A chain: Chain(n) waits for Chain(n - 1), without a timeout.
int Chain(int n) {
  if (n == 0) return 0;
  CoreRuntime& rt = *CurrentRuntime();
  ObjectID below = SubmitInt(rt, &Chain, n - 1);
  absl::StatusOr<int> value = GetIntUntimed(rt, below);
  rt.RemoveRef(below);
  if (!value.ok()) throw std::runtime_error(std::string(value.status().message()));
  return *value + 1;
}

TEST(DriverRuntimeNestingTest, RecursionPastTheNestingLimitFailsClearly) {
  auto runtime = DriverRuntime::Start(
      {.num_workers = 1, .num_cpus = 1, .object_store_memory = 64 << 20, .max_workers = 1});
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  DriverRuntime& rt = **runtime;
  SetCurrentRuntime(&rt);
  auto chain = [&](int n) { return SubmitInt(rt, &Chain, n); };
  EXPECT_EQ(GetInt(rt, chain(30)), 30);  // 31 tasks on one worker: 30 nested
  ObjectID too_deep = chain(100);
  auto value = rt.Get({&too_deep, 1}, absl::Seconds(60)).value()[0];
  ASSERT_TRUE(IsError(value.bytes));
  auto info = DeserializeError(value.bytes);
  ASSERT_TRUE(info.ok());
  EXPECT_NE(info->message.find("recurses too deep"), std::string::npos) << info->message;
  EXPECT_EQ(GetInt(rt, chain(5)), 5);  // and the node goes on
  SetCurrentRuntime(nullptr);
}

TEST(DriverRuntimeNestingTest, RecursionDeeperThanMaxWorkersRunsInsideBlockedGets) {
  auto runtime = DriverRuntime::Start(
      {.num_workers = 1, .num_cpus = 2, .object_store_memory = 64 << 20, .max_workers = 2});
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  DriverRuntime& rt = **runtime;
  SetCurrentRuntime(&rt);
  EXPECT_EQ(GetInt(rt, SubmitInt(rt, &Fib, 18)), 2584);  // 8361 tasks, up to 18 deep, on 2 workers
  EXPECT_LE(rt.worker_pids().size(), 2u);
  SetCurrentRuntime(nullptr);
}

TEST_F(DriverRuntimeTest, KilledWorkerIsReplacedAndTheTaskRetried) {
  auto pids = runtime_->worker_pids();
  for (int i = 0; i < 100 && pids.size() < 2; ++i) {
    GetInt(*runtime_, runtime_->Submit(Spec(&Add, {Value(1), Value(1)})).value()[0]);
    pids = runtime_->worker_pids();
  }
  ASSERT_FALSE(pids.empty());
  kill(pids[0], SIGKILL);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(GetInt(*runtime_, runtime_->Submit(Spec(&Add, {Value(i), Value(1)})).value()[0]),
              i + 1);
  }
}

TEST_F(DriverRuntimeTest, ACallNamingMoreObjectsThanAMessageCarriesIsRefused) {
  TaskSpec spec = Spec1(&Pid, {Value(0)});
  spec.nested_refs.assign(rpc::MAX_IDS_PER_LIST + 1, ObjectID::FromRandom());
  EXPECT_EQ(runtime_->Submit(std::move(spec)).status().code(), absl::StatusCode::kInvalidArgument);
  PutOptions put;
  put.nested_refs.assign(rpc::MAX_IDS_PER_LIST + 1, ObjectID::FromRandom());
  EXPECT_EQ(runtime_
                ->Put(
                    0, [](std::span<uint8_t>) {}, put)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ray::core
