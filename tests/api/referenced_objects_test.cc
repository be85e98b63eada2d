// Objects that ObjectRefs reference stay in the node's store: what does not fit fails as
// ObjectStoreFullError (for a task, its TaskError carries it), every referenced object still
// reads, freeing references makes room at once, and no other client may delete them.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ray/api.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/driver_runtime.h"
#include "ray/core_worker/runtime_gate.h"
#include "ray/store/client.h"

namespace {

constexpr int kMiB = 1 << 20;
constexpr auto kLong = std::chrono::seconds(60);

std::vector<uint8_t> filled(int size, int value) { return std::vector<uint8_t>(size, value); }

class ReferencedObjectsTest : public ::testing::Test {
 protected:
  void TearDown() override { ray::Shutdown(); }
};

TEST_F(ReferencedObjectsTest, APutOrResultThatDoesNotFitFailsAndEveryRefStillReads) {
  ray::Init({.num_workers = 1, .object_store_memory = 128 * kMiB});
  std::vector<ray::ObjectRef<std::vector<uint8_t>>> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(ray::Put(filled(40 * kMiB, i)));
  // Before, this put evicted the first object, and a Get of it waited forever.
  EXPECT_THROW(ray::Put(filled(40 * kMiB, 3)), ray::ObjectStoreFullError);
  try {
    ray::Remote(filled)(40 * kMiB, 4).Get(kLong);
    ADD_FAILURE() << "a 40 MiB result fitted beside 120 MiB of referenced objects";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.exception_type(), "ray::ObjectStoreFullError") << e.what();
    EXPECT_NE(e.message().find("ObjectStoreFull"), std::string::npos) << e.what();
  }
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> value = refs[i].Get(std::chrono::seconds(5));
    ASSERT_EQ(value.size(), 40u * kMiB) << "object " << i;
    EXPECT_EQ(value.front(), i);
    EXPECT_EQ(value.back(), i);
  }
  // Freeing a reference makes room at once, for a put and for a task's result.
  refs.erase(refs.begin());
  EXPECT_EQ(ray::Put(filled(40 * kMiB, 5)).Get(kLong).back(), 5);
  refs.erase(refs.begin());
  EXPECT_EQ(ray::Remote(filled)(40 * kMiB, 6).Get(kLong).back(), 6);
  EXPECT_EQ(refs[0].Get(kLong).back(), 2);
}

size_t TotalSize(std::vector<std::vector<uint8_t>> parts) {
  size_t total = 0;
  for (const auto& part : parts) total += part.size();
  return total;
}

TEST_F(ReferencedObjectsTest, ArgumentsPastTheInlineBudgetThatDoNotFitFailTheTask) {
  // Small objects live in the scheduler's memory; a task's inline values stop at 8 MiB, and
  // the rest reach its worker through the store. With the store full, the task fails with the
  // store's error rather than its worker finding the arguments missing.
  ray::Init({.num_workers = 1, .object_store_memory = 64 * kMiB});
  auto filler = ray::Put(filled(60 * kMiB, 1));
  std::vector<ray::ObjectRef<std::vector<uint8_t>>> parts;
  for (int i = 0; i < 400; ++i) parts.push_back(ray::Put(filled(60 << 10, i)));  // 24 MB
  try {
    ray::Remote(TotalSize)(parts).Get(kLong);
    ADD_FAILURE() << "16 MB of arguments past the inline budget fitted beside 60 MiB";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.exception_type(), "ray::ObjectStoreFullError") << e.what();
    EXPECT_NE(e.message().find("copied to the store"), std::string::npos) << e.what();
  }
  // With room again, the same arguments go through.
  filler = ray::ObjectRef<std::vector<uint8_t>>();
  EXPECT_EQ(ray::Remote(TotalSize)(parts).Get(kLong), 400u * (60 << 10));
}

TEST_F(ReferencedObjectsTest, ManyResultsIntoASmallStoreEndWithoutAHang) {
  // The everyday pattern: more results than the store holds, every ref kept. Before, a get of
  // all of them never returned.
  ray::Init({.num_workers = 2, .object_store_memory = 64 * kMiB});
  std::vector<ray::ObjectRef<std::vector<uint8_t>>> refs;
  for (int i = 0; i < 10; ++i) refs.push_back(ray::Remote(filled)(16 * kMiB, i));
  int fitted = 0;
  int full = 0;
  for (int i = 0; i < 10; ++i) {
    try {
      EXPECT_EQ(refs[i].Get(kLong).back(), i);
      ++fitted;
    } catch (const ray::TaskError& e) {
      EXPECT_EQ(e.exception_type(), "ray::ObjectStoreFullError") << e.what();
      ++full;
    }
  }
  EXPECT_GE(fitted, 1);
  EXPECT_LE(fitted, 3);  // 4 x 16 MiB and headers do not fit in 64 MiB
  EXPECT_EQ(fitted + full, 10);
}

TEST_F(ReferencedObjectsTest, AnotherClientOfTheStoreCannotDeleteAReferencedObject) {
  ray::Init({.num_workers = 1});
  auto* gate = dynamic_cast<ray::core::RuntimeGate*>(ray::core::CurrentRuntime());
  ASSERT_NE(gate, nullptr);
  auto* driver = dynamic_cast<ray::core::DriverRuntime*>(gate->runtime());
  ASSERT_NE(driver, nullptr);
  auto put = ray::Put(filled(kMiB, 1));
  auto result = ray::Remote(filled)(kMiB, 2);
  ASSERT_EQ(result.Get(kLong).size(), size_t{kMiB});
  auto stranger =
      ray::store::StoreClient::Connect(driver->session_dir() + "/store.sock", {.name = "stranger"});
  ASSERT_TRUE(stranger.ok()) << stranger.status();
  for (const ray::ObjectID& id : {put.ID(), result.ID()}) {
    absl::Status deleted = (*stranger)->Delete({&id, 1});
    EXPECT_EQ(deleted.code(), absl::StatusCode::kPermissionDenied) << deleted;
  }
  EXPECT_EQ(put.Get(kLong).back(), 1);
  EXPECT_EQ(result.Get(kLong).back(), 2);
}

}  // namespace
