// The computation graph recorded by the real runtime, and the files it writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "ray/api.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/observability/task_graph.h"

namespace {

using ray::core::TaskGraph;

int sleep_zero(int) { return 0; }
std::vector<double> zeros(std::vector<int> shape) {
  return std::vector<double>(static_cast<size_t>(shape[0]) * shape[1], 0.0);
}
std::vector<double> dot(std::vector<double> a, std::vector<double>) { return a; }
int sub_experiment(int i, int j) { return i + j; }
int run_experiment(int i) {
  std::vector<ray::ObjectRef<int>> subs;
  for (int j = 0; j < 3; ++j) subs.push_back(ray::Remote(sub_experiment)(i, j));
  int sum = 0;
  for (int v : ray::Get(subs)) sum += v;
  return sum;
}
int fails(int) { throw std::runtime_error("no"); }
// Sleeps 100 ms; returns when it began and ended (Unix ns), as the task itself saw it.
std::vector<int64_t> hundred_ms(int) {
  int64_t began = absl::ToUnixNanos(absl::Now());
  absl::SleepFor(absl::Milliseconds(100));
  return {began, absl::ToUnixNanos(absl::Now())};
}

TaskGraph::Snapshot Snapshot() { return *ray::core::CurrentRuntime()->GraphSnapshot(); }

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class GraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ray::Init({.num_workers = 2});
    dir_ = std::filesystem::path(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp");
  }
  void TearDown() override { ray::Shutdown(); }
  std::filesystem::path dir_;
};

TEST_F(GraphTest, TenTasksFromTheDriver) {
  std::vector<ray::ObjectRef<int>> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(ray::Remote(sleep_zero)(2));
  ray::Get(ids);
  TaskGraph::Snapshot graph = Snapshot();
  ASSERT_EQ(graph.tasks.size(), 10u);
  for (const auto& task : graph.tasks) {
    EXPECT_EQ(task.parent, graph.root);
    EXPECT_EQ(task.num_returns, 1);
    EXPECT_TRUE(task.reads.empty());
    EXPECT_EQ(task.state, TaskGraph::State::kDone);
    EXPECT_TRUE(absl::StrContains(task.function, "sleep_zero")) << task.function;
    EXPECT_GT(task.worker_pid, 0);
  }
  std::string dot_path = dir_ / "ten.dot";
  ray::VisualizeComputationGraph(dot_path);
  std::string text = Read(dot_path);
  int dotted = 0, solid_edges = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!absl::StrContains(line, "->")) continue;
    (absl::StrContains(line, "dotted") ? dotted : solid_edges) += 1;
  }
  EXPECT_EQ(dotted, 10);       // op-root launched ten tasks
  EXPECT_EQ(solid_edges, 10);  // each made one object
  EXPECT_TRUE(absl::StrContains(text, "op-root"));

  std::string svg_path = dir_ / "ten.svg";
  ray::VisualizeComputationGraph(svg_path);
  std::string svg = Read(svg_path);
  EXPECT_TRUE(absl::StrContains(svg, "<svg"));
  EXPECT_TRUE(absl::StrContains(svg, "</svg>"));
}

TEST_F(GraphTest, DataEdgesOfZerosAndDot) {
  auto a = ray::Remote(zeros)(std::vector<int>{10, 10});
  auto b = ray::Remote(zeros)(std::vector<int>{10, 10});
  auto c = ray::Remote(dot)(a, b);
  c.Get();
  TaskGraph::Snapshot graph = Snapshot();
  ASSERT_EQ(graph.tasks.size(), 3u);
  const auto& dot_task = graph.tasks[2];
  EXPECT_TRUE(absl::StrContains(dot_task.function, "dot"));
  EXPECT_EQ(dot_task.reads, (std::vector<ray::ObjectID>{a.ID(), b.ID()}));
  EXPECT_EQ(c.ID().Task(), dot_task.id);
}

TEST_F(GraphTest, NestedTasksHangUnderTheirLauncher) {
  ray::Remote(run_experiment)(1).Get();
  TaskGraph::Snapshot graph = Snapshot();
  ASSERT_EQ(graph.tasks.size(), 4u);
  ray::TaskID launcher = graph.tasks[0].id;
  EXPECT_EQ(graph.tasks[0].parent, graph.root);
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(graph.tasks[i].parent, launcher);
}

int named_inner(int i) { return ray::Remote(sleep_zero).Options({.name = "inner step"})(i).Get(); }

TEST_F(GraphTest, TaskOptionsNameNamesTheTaskAlsoInsideTasks) {
  ray::Remote(named_inner).Options({.name = "outer step"})(1).Get();
  ray::Remote(sleep_zero)(0).Get();
  TaskGraph::Snapshot graph = Snapshot();
  ASSERT_EQ(graph.tasks.size(), 3u);
  EXPECT_EQ(graph.tasks[0].function, "outer step");
  EXPECT_EQ(graph.tasks[1].function, "inner step");  // submitted by a worker
  EXPECT_TRUE(absl::StrContains(graph.tasks[2].function, "sleep_zero"));
}

// A driver's graph keeps InitOptions.max_recorded_tasks tasks; the picture and the timeline say
// how many more ran.
TEST(GraphLimitTest, MaxRecordedTasksIsAnInitOptionAndThePictureSaysWhatItLeftOut) {
  ray::Init({.num_workers = 2, .max_recorded_tasks = 5});
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 8; ++i) refs.push_back(ray::Remote(sleep_zero)(i));
  ray::Get(refs);
  TaskGraph::Snapshot graph = Snapshot();
  EXPECT_EQ(graph.tasks.size(), 5u);
  EXPECT_EQ(graph.tasks_not_recorded, 3u);
  const std::string dir = getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
  ray::VisualizeComputationGraph(dir + "/limited.dot");
  ray::Timeline(dir + "/limited.json");
  ray::Shutdown();
  const std::string note = "not recorded, past the recorder's limit: 3 more tasks, 0 more puts";
  EXPECT_TRUE(absl::StrContains(Read(dir + "/limited.dot"), note));
  EXPECT_TRUE(absl::StrContains(Read(dir + "/limited.json"), note));
}

TEST(GraphLimitTest, RecordTaskGraphFalseRecordsNothing) {
  ray::Init({.num_workers = 1, .record_task_graph = false});
  EXPECT_EQ(ray::Remote(sleep_zero)(0).Get(), 0);
  EXPECT_FALSE(ray::core::CurrentRuntime()->GraphSnapshot().has_value());
  EXPECT_THROW(ray::Timeline("unrecorded.json"), ray::RayError);
  ray::Shutdown();
}

TEST_F(GraphTest, FailedTasksStandOutAndTheTimelineIsJson) {
  EXPECT_THROW(ray::Remote(fails)(0).Get(), ray::TaskError);
  ray::Remote(sleep_zero)(0).Get();
  TaskGraph::Snapshot graph = Snapshot();
  ASSERT_EQ(graph.tasks.size(), 2u);
  EXPECT_EQ(graph.tasks[0].state, TaskGraph::State::kFailed);
  std::string dot_path = dir_ / "failed.dot";
  ray::VisualizeComputationGraph(dot_path);
  EXPECT_TRUE(absl::StrContains(Read(dot_path), "filled,bold"));  // failed tasks stand out

  std::string json_path = dir_ / "timeline.json";
  ray::Timeline(json_path);
  std::string check =
      "/usr/bin/python3 -c \"import json,sys; d=json.load(open(sys.argv[1])); "
      "sys.exit(0 if sum(e.get('ph')=='X' for e in d['traceEvents'])==2 else 3)\" " +
      json_path;
  EXPECT_EQ(std::system(check.c_str()), 0) << Read(json_path);
}

// Tasks queued behind others on a worker are recorded with the times they really ran (the
// worker's), not the time they were queued: eight 100 ms tasks on two workers are eight tasks
// of at least 100 ms each, one at a time per worker.
TEST_F(GraphTest, PipelinedTasksShowWhenTheyRan) {
  std::vector<ray::ObjectRef<std::vector<int64_t>>> refs;
  for (int i = 0; i < 8; ++i) refs.push_back(ray::Remote(hundred_ms)(i));
  std::vector<std::vector<int64_t>> inside = ray::Get(refs);
  TaskGraph::Snapshot graph = Snapshot();
  ASSERT_EQ(graph.tasks.size(), 8u);
  std::map<int, std::vector<std::pair<absl::Time, absl::Time>>> by_worker;
  for (size_t i = 0; i < 8; ++i) {
    const TaskGraph::Task& task = graph.tasks[i];
    EXPECT_EQ(task.state, TaskGraph::State::kDone);
    EXPECT_GE(task.finished - task.started, absl::Milliseconds(100)) << "task " << i;
    EXPECT_LE(task.started, absl::FromUnixNanos(inside[i][0])) << "task " << i;
    EXPECT_GE(task.finished, absl::FromUnixNanos(inside[i][1])) << "task " << i;
    by_worker[task.worker_pid].emplace_back(task.started, task.finished);
  }
  for (auto& [pid, spans] : by_worker) {
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i) {
      EXPECT_GE(spans[i].first, spans[i - 1].second) << "overlap on worker " << pid;
    }
  }
}

TEST_F(GraphTest, BadPathIsAClearError) {
  EXPECT_THROW(ray::VisualizeComputationGraph("/nonexistent/dir/g.svg"), ray::RayError);
  EXPECT_THROW(ray::VisualizeComputationGraph(dir_ / "g.unknown"), ray::RayError);
}

}  // namespace
