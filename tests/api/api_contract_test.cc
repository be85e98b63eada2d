// What the API hands the runtime and expects back, checked against a recording CoreRuntime:
// the TaskSpec of a call, the invoker run as a worker would run it, reference counting,
// timeouts. These are the conventions the multi-process runtime relies on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "ray/api.h"
#include "ray/function/function_id.h"

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

int add(int a, int b) { return a + b; }
void nothing(int) {}
ray::Returns<int, std::string, std::vector<double>> three(int n) {
  return {n, std::to_string(n), std::vector<double>(n, 0.5)};
}
double sum_view(ray::ArrayView<double> v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

// Serialized return values, as a worker's ReturnWriter would collect them.
class VectorReturnWriter : public ray::core::ReturnWriter {
 public:
  absl::StatusOr<std::span<uint8_t>> Allocate(size_t index, size_t size) override {
    if (returns.size() <= index) returns.resize(index + 1);
    returns[index].assign(size, '\0');
    return std::span<uint8_t>(reinterpret_cast<uint8_t*>(returns[index].data()), size);
  }
  absl::Status SetNestedRefs(size_t, std::vector<ray::ObjectID>) override {
    return absl::OkStatus();  // C++ values hold none
  }
  std::vector<std::string> returns;
};

class RecordingRuntime : public ray::core::CoreRuntime {
 public:
  absl::StatusOr<std::vector<ray::ObjectID>> Submit(ray::core::TaskSpec spec) override {
    ray::TaskID task = ray::TaskID::FromRandom();
    std::vector<ray::ObjectID> ids;
    for (int i = 0; i < spec.options.num_returns; ++i) {
      ids.push_back(ray::ObjectID::ForReturn(task, i + 1));
      refs[ids.back()] = 1;  // the caller's reference (core_runtime.h)
    }
    specs.push_back(std::move(spec));
    return ids;
  }
  absl::StatusOr<ray::ObjectID> Put(size_t size, absl::FunctionRef<void(std::span<uint8_t>)> write,
                                    const ray::core::PutOptions&) override {
    ray::ObjectID id = ray::ObjectID::FromRandom();
    std::string& bytes = objects[id];
    bytes.assign(size, '\0');
    write({reinterpret_cast<uint8_t*>(bytes.data()), size});
    refs[id] = 1;  // the caller's reference (core_runtime.h)
    return id;
  }
  absl::StatusOr<std::vector<ray::core::ObjectValue>> Get(std::span<const ray::ObjectID> ids,
                                                          absl::Duration timeout) override {
    get_calls.push_back(std::vector<ray::ObjectID>(ids.begin(), ids.end()));
    last_timeout = timeout;
    std::vector<ray::core::ObjectValue> values;
    for (const ray::ObjectID& id : ids) {
      auto it = objects.find(id);
      if (it == objects.end()) return absl::DeadlineExceededError("not there in time");
      values.push_back({ray::AsBytes(it->second), nullptr});
    }
    return values;
  }
  absl::StatusOr<ray::core::WaitIndices> Wait(std::span<const ray::ObjectID> ids,
                                              size_t num_returns, absl::Duration timeout) override {
    ray::core::WaitIndices r;
    for (size_t i = 0; i < ids.size(); ++i) {
      (objects.contains(ids[i]) && r.ready.size() < num_returns ? r.ready : r.not_ready)
          .push_back(i);
    }
    last_timeout = timeout;
    return r;
  }
  void AddRef(const ray::ObjectID& id) override { ++refs[id]; }
  void RemoveRef(const ray::ObjectID& id) override { --refs[id]; }

  // Runs submitted task `i` as a worker would: its inline values and the objects it refers
  // to, through its invoker; throws the error its status carries, as Get would.
  VectorReturnWriter Run(size_t i) {
    const ray::core::TaskSpec& spec = specs.at(i);
    std::vector<ray::core::ObjectValue> args;
    for (const ray::core::TaskArg& arg : spec.args) {
      const std::string& bytes = arg.ref.IsNil() ? arg.value : objects.at(arg.ref);
      args.push_back({ray::AsBytes(bytes), nullptr});
    }
    VectorReturnWriter writer;
    ray::internal::ThrowIfError(spec.invoker(spec.function, args, writer));
    return writer;
  }

  std::vector<ray::core::TaskSpec> specs;
  std::map<ray::ObjectID, std::string> objects;
  absl::flat_hash_map<ray::ObjectID, int> refs;
  std::vector<std::vector<ray::ObjectID>> get_calls;
  absl::Duration last_timeout;
};

class ApiContractTest : public ::testing::Test {
 protected:
  void SetUp() override { ray::core::SetCurrentRuntime(&runtime_); }
  void TearDown() override { ray::core::SetCurrentRuntime(nullptr); }
  RecordingRuntime runtime_;
};

TEST_F(ApiContractTest, TaskSpecOfACall) {
  auto two = ray::Put(2);
  ray::ObjectRef<int> r = ray::Remote(add).Options({.num_cpus = 2, .max_retries = 0})(1, two);
  ASSERT_EQ(runtime_.specs.size(), 1u);
  const ray::core::TaskSpec& spec = runtime_.specs[0];
  EXPECT_EQ(spec.function, ray::FunctionAddress(add));
  EXPECT_NE(spec.invoker, nullptr);
  EXPECT_EQ(spec.options.num_returns, 1);
  EXPECT_EQ(spec.options.num_cpus, 2);
  EXPECT_EQ(spec.options.max_retries, 0);
  ASSERT_EQ(spec.args.size(), 2u);
  EXPECT_TRUE(spec.args[0].ref.IsNil());
  EXPECT_EQ(ray::Deserialize<int>(spec.args[0].value).value(), 1);
  EXPECT_EQ(spec.args[1].ref, two.ID());
  EXPECT_TRUE(spec.args[1].value.empty());
  // Defaults come from core::SubmitOptions.
  ray::Remote(add)(1, 2);
  EXPECT_EQ(runtime_.specs[1].options.num_cpus, ray::core::SubmitOptions{}.num_cpus);
  EXPECT_EQ(runtime_.specs[1].options.max_retries, ray::core::SubmitOptions{}.max_retries);
  // The returned ref is counted once.
  EXPECT_EQ(runtime_.refs[r.ID()], 1);
}

TEST_F(ApiContractTest, TheInvokerRunsTheFunctionOnSerializedArguments) {
  ray::Remote(add)(40, ray::Put(2));
  VectorReturnWriter out = runtime_.Run(0);
  ASSERT_EQ(out.returns.size(), 1u);
  EXPECT_EQ(ray::Deserialize<int>(out.returns[0]).value(), 42);
}

TEST_F(ApiContractTest, TheInvokerIsNamedByItsAddress) {
  // A worker finds the invoker (and the function) by module build-id and offset.
  ray::Remote(add)(1, 2);
  for (const void* address :
       {reinterpret_cast<const void*>(runtime_.specs[0].invoker), runtime_.specs[0].function}) {
    absl::StatusOr<ray::FunctionDescriptor> d = ray::DescribeFunction(address);
    ASSERT_TRUE(d.ok()) << d.status();
    absl::StatusOr<const void*> resolved = ray::ResolveFunction(*d);
    ASSERT_TRUE(resolved.ok()) << resolved.status();
    EXPECT_EQ(*resolved, address);
  }
}

TEST_F(ApiContractTest, VoidFunctionsWriteMsgpackNil) {
  ray::ObjectRef<void> r = ray::Remote(nothing)(1);
  EXPECT_EQ(runtime_.specs[0].options.num_returns, 1);
  VectorReturnWriter out = runtime_.Run(0);
  ASSERT_EQ(out.returns.size(), 1u);
  const std::string& none = out.returns[0];
  ASSERT_EQ(none.size(), ray::kObjectHeaderSize + 1);
  absl::StatusOr<ray::ObjectHeader> h = ray::ReadHeader(ray::AsBytes(none));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->format, static_cast<uint8_t>(ray::ObjectFormat::kMsgpack));
  EXPECT_EQ(static_cast<uint8_t>(none[ray::kObjectHeaderSize]), 0xc0);  // msgpack nil
  runtime_.objects[r.ID()] = none;
  r.Get();  // returns nothing, does not throw
}

TEST_F(ApiContractTest, ReturnsWritesEachValue) {
  auto [a, b, c] = ray::Remote(three)(3);
  EXPECT_EQ(runtime_.specs[0].options.num_returns, 3);
  VectorReturnWriter out = runtime_.Run(0);
  ASSERT_EQ(out.returns.size(), 3u);
  runtime_.objects[a.ID()] = out.returns[0];
  runtime_.objects[b.ID()] = out.returns[1];
  runtime_.objects[c.ID()] = out.returns[2];
  EXPECT_EQ(a.Get(), 3);
  EXPECT_EQ(b.Get(), "3");
  EXPECT_THAT(c.Get(), ElementsAre(0.5, 0.5, 0.5));
}

TEST_F(ApiContractTest, ViewArgumentsArePassedRaw) {
  std::vector<double> v{1, 2, 3};
  ray::Remote(sum_view)(v);
  absl::StatusOr<ray::ObjectHeader> h =
      ray::ReadHeader(ray::AsBytes(runtime_.specs[0].args[0].value));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->format, static_cast<uint8_t>(ray::ObjectFormat::kRaw));
  EXPECT_EQ(ray::Deserialize<double>(runtime_.Run(0).returns[0]).value(), 6);
}

TEST_F(ApiContractTest, AnErrorArgumentReachingTheInvokerFailsWithThatError) {
  // A runtime should not run a task with a failed argument, but if it does, the invoker
  // throws the argument's error (so the task's result is that same error).
  ray::TaskErrorInfo info{"f()", "std::runtime_error", "first", "ab", 1, ""};
  ray::ObjectID failed = ray::ObjectID::FromRandom();
  runtime_.objects[failed] = ray::SerializeError(info);
  ray::Remote(add)(1, ray::ObjectRef<int>(failed));
  try {
    runtime_.Run(0);
    FAIL() << "no error";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.info(), info);
  }
}

TEST_F(ApiContractTest, InvokerChecksArity) {
  ray::Remote(add)(1, 2);
  runtime_.specs[0].args.pop_back();
  try {
    runtime_.Run(0);
    FAIL() << "no error";
  } catch (const ray::RayError& e) {
    EXPECT_THAT(e.what(), HasSubstr("takes 2 arguments"));
  }
}

TEST_F(ApiContractTest, GetIsOneCallWithTheTimeout) {
  std::vector<ray::ObjectRef<int>> refs{ray::Put(1), ray::Put(2), ray::Put(3)};
  EXPECT_THAT(ray::Get(refs, absl::Seconds(3)), ElementsAre(1, 2, 3));
  ASSERT_EQ(runtime_.get_calls.size(), 1u);
  EXPECT_EQ(runtime_.get_calls[0].size(), 3u);
  EXPECT_EQ(runtime_.last_timeout, absl::Seconds(3));
  refs[0].Get();
  EXPECT_EQ(runtime_.last_timeout, absl::InfiniteDuration());
}

TEST_F(ApiContractTest, GetTimeout) {
  ray::ObjectRef<int> pending = ray::Remote(add)(1, 2);  // never runs here
  EXPECT_THROW(ray::Get(pending, absl::Milliseconds(10)), ray::GetTimeoutError);
  EXPECT_EQ(runtime_.last_timeout, absl::Milliseconds(10));
  EXPECT_THROW(pending.Get(absl::Milliseconds(10)), ray::RayError);  // a RayError too
  EXPECT_THROW(
      ray::GetView(ray::ObjectRef<std::vector<double>>(pending.ID()), absl::ZeroDuration()),
      ray::GetTimeoutError);
}

TEST_F(ApiContractTest, WaitMapsIndexesToRefs) {
  std::vector<ray::ObjectRef<int>> refs{ray::Remote(add)(1, 2), ray::Put(1), ray::Put(2)};
  auto [ready, not_ready] = ray::Wait(refs, 1, absl::Milliseconds(5));
  EXPECT_THAT(ready, ElementsAre(refs[1]));
  EXPECT_THAT(not_ready, ElementsAre(refs[0], refs[2]));
  EXPECT_EQ(runtime_.last_timeout, absl::Milliseconds(5));
}

TEST_F(ApiContractTest, ReferenceCounts) {
  ray::ObjectID id;
  {
    auto a = ray::Put(1);
    id = a.ID();
    EXPECT_EQ(runtime_.refs[id], 1);
    std::vector<ray::ObjectRef<int>> copies(10, a);
    EXPECT_EQ(runtime_.refs[id], 11);
    // Passing a ref to a task does not change its count (the runtime holds the task's own
    // claim on its arguments).
    ray::Remote(add)(a, a);
    EXPECT_EQ(runtime_.refs[id], 11);
  }
  EXPECT_EQ(runtime_.refs[id], 0);
}

TEST_F(ApiContractTest, NoCallsAfterTheRuntimeIsCleared) {
  auto a = ray::Put(1);
  ray::core::SetCurrentRuntime(nullptr);
  { auto copy = a; }  // neither AddRef nor RemoveRef
  EXPECT_EQ(runtime_.refs[a.ID()], 1);
  RecordingRuntime other;
  ray::core::SetCurrentRuntime(&other);
  { auto copy = a; }  // a belongs to runtime_, not to other
  EXPECT_TRUE(other.refs.empty());
  ray::core::SetCurrentRuntime(&runtime_);  // even back to the same runtime: a new epoch
  { auto copy = a; }
  EXPECT_EQ(runtime_.refs[a.ID()], 1);
  EXPECT_THROW(a.Get(), ray::RayError);
}

}  // namespace
