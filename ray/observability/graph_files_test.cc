// The computation graph written out: DOT, SVG and PNG through Graphviz, and the timeline.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "ray/observability/task_graph.h"
#include "ray/observability/task_graph_test_util.h"

namespace ray::core {
namespace {

using namespace ::ray::core::testing;  // NOLINT: the helpers of task_graph_test_util.h
using State = TaskGraph::State;

// --- Writing files.

bool HaveDot() {
  if (access("/usr/bin/dot", X_OK) == 0) return true;
  std::fprintf(stderr, "SKIPPED: Graphviz's dot is not installed (apt-get install graphviz)\n");
  return false;
}

TaskGraph::Snapshot ZerosDotSnapshot(const std::string& function = "dot") {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  TaskID a = RunTask(g, root, "zeros");
  TaskID b = RunTask(g, root, "zeros");
  RunTask(g, root, function, {ObjectID::ForReturn(a, 1), ObjectID::ForReturn(b, 1)}, 1, true);
  return g.Take();
}

TEST(TaskGraphTest, WritesDotSource) {
  TaskGraph::Snapshot s = ZerosDotSnapshot();
  const std::string path = TempPath("graph.dot");
  ASSERT_TRUE(WriteGraph(s, path).ok());
  EXPECT_EQ(ReadAll(path), ToDot(s));
}

TEST(TaskGraphTest, RendersSvg) {
  if (!HaveDot()) GTEST_SKIP() << "Graphviz's dot is not installed";
  for (const TaskGraph::Snapshot& s : {ZerosDotSnapshot("std::vector<int> \"quoted\" \\ name"), [] {
                                         TaskID root = TaskID::FromRandom();
                                         TaskGraph g(root);
                                         for (int i = 0; i < 1000; ++i) RunTask(g, root, "sleep");
                                         for (int i = 0; i < 20; ++i)
                                           RunTask(g, root, absl::StrCat("f", i));
                                         return g.Take();
                                       }()}) {
    const std::string path = TempPath("graph.svg");
    absl::Status status = WriteGraph(s, path);
    ASSERT_TRUE(status.ok()) << status;
    const std::string svg = ReadAll(path);
    EXPECT_TRUE(absl::StartsWith(svg, "<?xml") || absl::StartsWith(svg, "<svg")) << svg;
    EXPECT_TRUE(absl::StrContains(svg, "</svg>"));
    DotGraph dot(ToDot(s));
    EXPECT_EQ(Count(svg, "class=\"node\""), dot.nodes.size());
    EXPECT_EQ(Count(svg, "class=\"edge\""), dot.edges.size());
    EXPECT_TRUE(absl::StrContains(svg, "op&#45;root") || absl::StrContains(svg, "op-root"));
  }
  const std::string svg = ReadAll(TempPath("graph.svg"));
  EXPECT_TRUE(absl::StrContains(svg, "sleep ×1000")) << "folded label";
}

TEST(TaskGraphTest, RendersPng) {
  if (!HaveDot()) GTEST_SKIP() << "Graphviz's dot is not installed";
  const std::string path = TempPath("graph.PNG");
  absl::Status status = WriteGraph(ZerosDotSnapshot(), path);
  ASSERT_TRUE(status.ok()) << status;
  const std::string png = ReadAll(path);
  EXPECT_TRUE(absl::StartsWith(png, "\x89PNG\r\n\x1a\n"));
  EXPECT_GT(png.size(), 1000u);
}

TEST(TaskGraphTest, WriteErrorsAreClear) {
  TaskGraph::Snapshot s = ZerosDotSnapshot();
  absl::Status status = WriteGraph(s, TempPath("graph.txt"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(status.message(), ".dot, .svg or .png")) << status;
  EXPECT_EQ(WriteGraph(s, TempPath("graph")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteGraph(s, TempPath("dir.svg/graph")).code(), absl::StatusCode::kInvalidArgument);

  for (const char* name : {"graph.dot", "graph.svg", "graph.png"}) {
    const std::string path = absl::StrCat("/nonexistent-ray-dir/", name);
    status = WriteGraph(s, path);
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), path)) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "No such file or directory")) << status;
  }
  status = WriteTimeline(s, "/nonexistent-ray-dir/timeline.json");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "/nonexistent-ray-dir/timeline.json"));
}

TEST(TaskGraphTest, MissingGraphvizIsReported) {
  TaskGraph::Snapshot s = ZerosDotSnapshot();
  const std::string path = TempPath("missing.svg");
  for (const char* binary : {"/nonexistent/dot", "no-such-graphviz-binary"}) {
    absl::Status status = WriteGraph(s, path, {.dot_binary = binary});
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
    EXPECT_TRUE(absl::StrContains(status.message(), "Graphviz is not installed")) << status;
    EXPECT_FALSE(Exists(path));
  }
}

TEST(TaskGraphTest, FailingGraphvizIsReported) {
  const std::string script = TempPath("bad_dot.sh");
  std::ofstream(script) << "#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 3\n";
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  const std::string path = TempPath("failing.svg");
  absl::Status status = WriteGraph(ZerosDotSnapshot(), path, {.dot_binary = script});
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "exit status 3")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "syntax error in line 1")) << status;
  EXPECT_FALSE(Exists(path));
}

TEST(TaskGraphTest, HangingGraphvizIsKilled) {
  const std::string script = TempPath("hang_dot.sh");
  std::ofstream(script) << "#!/bin/sh\nsleep 30\n";  // Reads nothing, never exits.
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  // A large graph, so that the input does not fit in the socket buffer either.
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  for (int i = 0; i < 3000; ++i) RunTask(g, root, absl::StrCat("f", i));
  const std::string path = TempPath("hanging.svg");
  const absl::Time start = absl::Now();
  absl::Status status =
      WriteGraph(g.Take(), path, {.dot_binary = script, .timeout = absl::Milliseconds(300)});
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_LT(took, absl::Seconds(5));
  EXPECT_FALSE(Exists(path));
}

// --- The timeline.

TEST(TaskGraphTest, TimelineIsChromeTraceJson) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  int started = 0;
  for (int i = 0; i < 9; ++i) {
    TaskID t = TaskID::FromRandom();
    g.OnSubmit(t, root, i == 0 ? "odd \"name\"\\\n\xfe" : "work", {}, 1, At(0));
    g.OnStart(t, 101 + i % 3, At(100 + 1000 * i));
    g.OnFinish(t, i == 4, At(350 + 1000 * i));
    ++started;
  }
  TaskID running = TaskID::FromRandom(), waiting = TaskID::FromRandom();
  g.OnSubmit(running, root, "long", {}, 1, At(0));
  g.OnStart(running, 104, At(500));
  ++started;
  g.OnSubmit(waiting, root, "later", {}, 1, At(0));

  const std::string json = ToTimelineJson(g.Take());
  EXPECT_TRUE(absl::StartsWith(json, "{\"traceEvents\":["));
  EXPECT_EQ(Count(json, "\"ph\":\"X\""), started);
  EXPECT_EQ(Count(json, "\"name\":\"thread_name\""), 4);
  EXPECT_TRUE(absl::StrContains(json, "\"ts\":100.000,\"dur\":250.000")) << json;
  // The running task lasts until the latest time recorded (8350 us).
  EXPECT_TRUE(absl::StrContains(json, "\"ts\":500.000,\"dur\":7850.000")) << json;

  const std::string path = TempPath("timeline.json");
  ASSERT_TRUE(WriteTimeline(g.Take(), path).ok());
  EXPECT_EQ(ReadAll(path), json);
  if (access("/usr/bin/python3", X_OK) != 0) {
    GTEST_SKIP() << "no /usr/bin/python3 to check the JSON with";
  }
  const std::string check = TempPath("check_trace.py");
  std::ofstream(check) << R"(import json, sys
trace = json.load(open(sys.argv[1], encoding="utf-8"))
events = trace["traceEvents"]
x = [e for e in events if e["ph"] == "X"]
meta = [e for e in events if e["ph"] == "M" and e["name"] == "thread_name"]
rows = {e["tid"]: e["args"]["name"] for e in meta}
assert all(e["pid"] == e["tid"] and e["tid"] in rows for e in x), "X event off its row"
assert all(rows[t] == "worker %d" % t for t in rows), rows
assert all(e["ts"] >= 0 and e["dur"] >= 0 and len(e["args"]["task_id"]) == 40 for e in x)
states = sorted(e["args"]["state"] for e in x)
names = [e["name"] for e in x]
print(len(x), len(rows), ",".join(sorted(set(states))), 'odd "name"\\ \ufffd' in names)
)";
  FILE* p = popen(absl::StrCat("/usr/bin/python3 ", check, " ", path, " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buffer[4096] = {};
  std::string out;
  while (fgets(buffer, sizeof(buffer), p) != nullptr) out += buffer;
  EXPECT_EQ(pclose(p), 0) << out;
  EXPECT_EQ(out, absl::StrCat(started, " 4 done,failed,running True\n"));
}

}  // namespace
}  // namespace ray::core
