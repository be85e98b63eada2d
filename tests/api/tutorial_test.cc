// The seed tutorial (shared/seed/ray_tutorial_2016.md beside the repository) in C++, in local mode.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ray/api.h"

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// @ray.remote def add(a, b): return a + b
int add(int a, int b) { return a + b; }

// @ray.remote(num_return_vals=3) def return_multiple(): return 0, 0.0, "zero"
ray::Returns<int, double, std::string> return_multiple() { return {0, 0.0, "zero"}; }

// @ray.remote def sleep(n): time.sleep(n); return 0
int sleep_for(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  return 0;
}

// zeros / dot, with vectors for numpy arrays.
std::vector<double> zeros(std::vector<int> shape) {
  return std::vector<double>(static_cast<size_t>(shape.at(0)) * shape.at(1), 0.0);
}
double dot(ray::ArrayView<double> a, ray::ArrayView<double> b) {
  double s = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) s += a[i] * b[i];
  return s;
}

// Remote functions within remote functions.
int sub_experiment(int i, int j) { return i + j; }
int run_experiment(int i) {
  std::vector<ray::ObjectRef<int>> sub_results;
  for (int j = 0; j < 10; ++j) sub_results.push_back(ray::Remote(sub_experiment)(i, j));
  int sum = 0;
  for (int v : ray::Get(sub_results)) sum += v;
  return sum;
}

// Exceptions crossing two levels of tasks.
double divide(double a, double b) {
  if (b == 0) throw std::domain_error("division by zero");
  return a / b;
}
double inner(double x) { return ray::Remote(divide)(x, 0.0).Get() + 1; }
double outer(double x) { return ray::Remote(inner)(x).Get() * 2; }

class TutorialTest : public ::testing::Test {
 protected:
  // ray.init(start_ray_local=True, num_workers=10), in local mode.
  void SetUp() override { ray::Init({.num_workers = 10, .local_mode = true}); }
  void TearDown() override { ray::Shutdown(); }
};

TEST_F(TutorialTest, PutAndGet) {
  // x_id = ray.put([1, 2, 3]); ray.get(x_id)  # [1, 2, 3]
  auto x_id = ray::Put(std::vector<int>{1, 2, 3});
  EXPECT_THAT(ray::Get(x_id), ElementsAre(1, 2, 3));
}

TEST_F(TutorialTest, GetAListOfObjectIds) {
  // result_ids = [ray.put(i) for i in range(10)]; ray.get(result_ids)
  std::vector<ray::ObjectRef<int>> result_ids;
  for (int i = 0; i < 10; ++i) result_ids.push_back(ray::Put(i));
  EXPECT_THAT(ray::Get(result_ids), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
}

TEST_F(TutorialTest, RemoteFunctions) {
  // x_id = add.remote(1, 2); ray.get(x_id)  # 3
  auto x_id = ray::Remote(add)(1, 2);
  EXPECT_EQ(ray::Get(x_id), 3);
  // add.remote(1, 2); add.remote(1, ray.put(2)); add.remote(ray.put(1), ray.put(2))
  EXPECT_EQ(ray::Remote(add)(1, 2).Get(), 3);
  EXPECT_EQ(ray::Remote(add)(1, ray::Put(2)).Get(), 3);
  EXPECT_EQ(ray::Remote(add)(ray::Put(1), ray::Put(2)).Get(), 3);
}

TEST_F(TutorialTest, ReturnMultiple) {
  // a_id, b_id, c_id = return_multiple.remote()
  auto [a_id, b_id, c_id] = ray::Remote(return_multiple)();
  EXPECT_EQ(ray::Get(a_id), 0);
  EXPECT_EQ(ray::Get(b_id), 0.0);
  EXPECT_EQ(ray::Get(c_id), "zero");
}

TEST_F(TutorialTest, BlockingComputation) {
  // result_ids = [sleep.remote(2) for i in range(10)]; ray.get(result_ids)  # [0] * 10
  // (Local mode runs them one after another; 10 ms each here.)
  std::vector<ray::ObjectRef<int>> result_ids;
  for (int i = 0; i < 10; ++i) result_ids.push_back(ray::Remote(sleep_for)(0.01));
  EXPECT_EQ(ray::Get(result_ids), std::vector<int>(10, 0));
}

TEST_F(TutorialTest, ComputationGraphDependencies) {
  // a_id = zeros.remote([10, 10]); b_id = zeros.remote([10, 10]); c_id = dot.remote(a_id, b_id)
  auto a_id = ray::Remote(zeros)(std::vector<int>{10, 10});
  auto b_id = ray::Remote(zeros)(std::vector<int>{10, 10});
  auto c_id = ray::Remote(dot)(a_id, b_id);
  EXPECT_EQ(ray::Get(c_id), 0.0);
  EXPECT_EQ(ray::Get(a_id).size(), 100u);
}

TEST_F(TutorialTest, RemoteFunctionsWithinRemoteFunctions) {
  // results = [run_experiment.remote(i) for i in range(5)]; ray.get(results)
  std::vector<ray::ObjectRef<int>> results;
  for (int i = 0; i < 5; ++i) results.push_back(ray::Remote(run_experiment)(i));
  EXPECT_THAT(ray::Get(results), ElementsAre(45, 55, 65, 75, 85));
}

TEST_F(TutorialTest, ExceptionsCrossTwoLevelsOfTasks) {
  auto result = ray::Remote(outer)(1.0);
  try {
    ray::Get(result);
    FAIL() << "no error";
  } catch (const ray::TaskError& e) {
    EXPECT_EQ(e.message(), "division by zero");
    EXPECT_EQ(e.exception_type(), "std::domain_error");
    EXPECT_THAT(e.function_name(), HasSubstr("divide"));
    EXPECT_THAT(e.what(), HasSubstr("division by zero"));
    EXPECT_THAT(e.what(), HasSubstr("divide"));
  }
}

TEST(TutorialLifecycleTest, InitTwiceAndApiBeforeInit) {
  EXPECT_THROW(ray::Put(std::vector<int>{1, 2, 3}), ray::RayError);
  EXPECT_THROW(ray::Remote(add)(1, 2), ray::RayError);
  ray::Init({.local_mode = true});
  EXPECT_THROW(ray::Init({.local_mode = true}), ray::RayError);
  ray::Shutdown();
}

}  // namespace
