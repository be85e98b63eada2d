// The same misuse raises the same exception type in every runtime: local mode (in the caller and
// inside a task), the driver of a node, and a task on one of its workers. Each misuse runs in
// Caught(), which names what it threw; in a worker, Caught runs as a task and returns the name.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ray/api.h"
#include "ray/api/internal/status.h"

namespace {

using ::testing::HasSubstr;

enum Misuse : int {
  kGetOfAnObjectNeverMade,
  kGetTimeout,
  kPutLargerThanTheStore,
  kGetOfANilRef,
  kWaitForMoreThanGiven,
  kWaitThenGetOfAnObjectNeverMade,
};

constexpr int64_t kStoreBytes = 64 << 20;

int SleepMs(int ms) {
  usleep(ms * 1000);
  return ms;
}

void Do(int misuse) {
  switch (misuse) {
    case kGetOfAnObjectNeverMade:
      ray::ObjectRef<int>(ray::ObjectID::ForReturn(ray::TaskID::FromRandom(), 1)).Get();
      break;
    case kGetTimeout:
      ray::Remote(SleepMs)(2000).Get(absl::Milliseconds(50));
      break;
    case kPutLargerThanTheStore:
      ray::Put(std::vector<uint8_t>(kStoreBytes + (16 << 20)));
      break;
    case kGetOfANilRef:
      ray::ObjectRef<int>().Get();
      break;
    case kWaitForMoreThanGiven:
      ray::Wait(std::vector{ray::Put(1)}, 2);
      break;
    case kWaitThenGetOfAnObjectNeverMade: {
      // Counted as ready (nothing could make it), so that the Get says it does not exist.
      std::vector refs{ray::ObjectRef<int>(ray::ObjectID::ForReturn(ray::TaskID::FromRandom(), 1))};
      auto [ready, not_ready] = ray::Wait(refs, 1, absl::Seconds(30));
      if (ready.size() != 1) throw std::runtime_error("Wait did not count it as ready");
      ready[0].Get();
      break;
    }
  }
}

// "type|message" of what the misuse threw ("none|" if nothing).
std::string Caught(int misuse) {
  try {
    Do(misuse);
  } catch (const ray::ObjectLostError& e) {
    return std::string("ray::ObjectLostError|") + e.what();
  } catch (const ray::GetTimeoutError& e) {
    return std::string("ray::GetTimeoutError|") + e.what();
  } catch (const ray::ObjectStoreFullError& e) {
    return std::string("ray::ObjectStoreFullError|") + e.what();
  } catch (const ray::TaskError& e) {
    return "ray::TaskError(" + e.exception_type() + ")|" + e.what();
  } catch (const ray::RayError& e) {
    return std::string("ray::RayError|") + e.what();
  } catch (const std::exception& e) {
    return std::string("other|") + e.what();
  }
  return "none|";
}

struct Case {
  Misuse misuse;
  const char* type;
  const char* message;
  bool in_local_mode;  // local mode has no store and finishes a task before Submit returns
};

constexpr Case kCases[] = {
    {kGetOfAnObjectNeverMade, "ray::ObjectLostError", "does not exist", true},
    {kGetTimeout, "ray::GetTimeoutError", "timed out", false},
    {kPutLargerThanTheStore, "ray::ObjectStoreFullError", "capacity", false},
    {kGetOfANilRef, "ray::RayError", "nil", true},
    {kWaitForMoreThanGiven, "ray::RayError", "num_returns = 2 but only 1", true},
    {kWaitThenGetOfAnObjectNeverMade, "ray::ObjectLostError", "does not exist", true},
};

enum class Runtime { kLocal, kLocalTask, kDriver, kWorker };

class ErrorTypesTest : public ::testing::TestWithParam<Runtime> {
 protected:
  void SetUp() override {
    bool local = GetParam() == Runtime::kLocal || GetParam() == Runtime::kLocalTask;
    ray::Init({.num_workers = 2, .object_store_memory = kStoreBytes, .local_mode = local});
  }
  void TearDown() override { ray::Shutdown(); }

  std::string Run(Misuse misuse) {
    if (GetParam() == Runtime::kLocal || GetParam() == Runtime::kDriver) return Caught(misuse);
    return ray::Remote(Caught)(static_cast<int>(misuse)).Get(absl::Seconds(60));
  }
};

TEST_P(ErrorTypesTest, TheSameMisuseRaisesTheSameErrorType) {
  const bool local = GetParam() == Runtime::kLocal || GetParam() == Runtime::kLocalTask;
  for (const Case& c : kCases) {
    if (local && !c.in_local_mode) continue;
    std::string caught = Run(c.misuse);
    SCOPED_TRACE(caught);
    const size_t bar = caught.find('|');
    EXPECT_EQ(caught.substr(0, bar), c.type) << "misuse " << c.misuse;
    EXPECT_THAT(caught.substr(bar + 1), HasSubstr(c.message)) << "misuse " << c.misuse;
  }
}

std::string RuntimeName(const ::testing::TestParamInfo<Runtime>& info) {
  static const char* const kNames[] = {"Local", "LocalTask", "Driver", "Worker"};
  return kNames[static_cast<int>(info.param)];
}

INSTANTIATE_TEST_SUITE_P(EveryRuntime, ErrorTypesTest,
                         ::testing::Values(Runtime::kLocal, Runtime::kLocalTask, Runtime::kDriver,
                                           Runtime::kWorker),
                         RuntimeName);

// The conversions behind it (ray/api/internal/status.h).
TEST(StatusConversionTest, ErrorObjectsAndStatuses) {
  using ray::internal::ThrowErrorObject;
  using ray::internal::ThrowStatus;
  ray::TaskErrorInfo crash{"g()", std::string(ray::kWorkerCrashedErrorType), "died", "ab", 1, ""};
  try {
    ThrowErrorObject(crash);
  } catch (...) {
    EXPECT_EQ(ray::internal::CurrentExceptionErrorInfo(), crash);  // passed through unchanged
    EXPECT_EQ(ray::CarriedErrorObject(ray::internal::CurrentExceptionStatus()), crash);
  }
  EXPECT_THROW(ThrowErrorObject(crash), ray::WorkerCrashedError);
  crash.exception_type = "std::bad_alloc";
  EXPECT_THROW(ThrowErrorObject(crash), ray::TaskError);
  EXPECT_THROW(ThrowStatus(ray::TaskFailure(crash)), ray::TaskError);
  // The runtime's own error (no task) is the error its type names.
  crash.task_id = ray::TaskID::Nil().Hex();
  crash.exception_type = "ray::ObjectLostError";
  EXPECT_THROW(ThrowErrorObject(crash), ray::ObjectLostError);
  EXPECT_THROW(ThrowStatus(absl::DeadlineExceededError("late")), ray::GetTimeoutError);
  EXPECT_THROW(ThrowStatus(absl::ResourceExhaustedError("full")), ray::ObjectStoreFullError);
  EXPECT_THROW(ThrowStatus(absl::NotFoundError("gone")), ray::ObjectLostError);
  EXPECT_THROW(ThrowStatus(ray::ShutDownError()), ray::RayError);
  try {
    throw std::out_of_range("oops");
  } catch (...) {
    ray::TaskErrorInfo info = ray::internal::CurrentExceptionErrorInfo();
    EXPECT_EQ(info.exception_type, "std::out_of_range");
    EXPECT_EQ(info.message, "oops");
    EXPECT_EQ(info.task_id, "");  // the runtime fills in the task and the function
    EXPECT_EQ(info.pid, getpid());
  }
}

// Every code a frontend tells apart names its own exception type, and back.
TEST(StatusConversionTest, ErrorTypeNames) {
  for (absl::StatusCode code :
       {absl::StatusCode::kDeadlineExceeded, absl::StatusCode::kResourceExhausted,
        absl::StatusCode::kNotFound}) {
    EXPECT_EQ(ray::ErrorTypeCode(ray::ErrorTypeName(code)), code);
  }
  EXPECT_EQ(ray::ErrorTypeName(absl::StatusCode::kInvalidArgument), "ray::RayError");
  EXPECT_EQ(ray::ErrorTypeCode("ray::RayError"), absl::StatusCode::kUnknown);
}

}  // namespace
