#include "ray/observability/task_graph.h"

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
#include "ray/observability/task_graph_test_util.h"

namespace ray::core {
namespace {

using namespace ::ray::core::testing;  // NOLINT: the helpers of task_graph_test_util.h
using State = TaskGraph::State;

// --- The seed's pictures.

TEST(TaskGraphTest, TenSleepTasksFromTheRoot) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  std::set<std::string> sleeps;
  for (int i = 0; i < 10; ++i) sleeps.insert(Short(RunTask(g, root, "sleep")));

  DotGraph dot(ToDot(g.Take()));
  EXPECT_EQ(dot.NodesWithShape("box").size(), 11u);
  EXPECT_EQ(dot.NodesWithShape("ellipse").size(), 10u);
  EXPECT_EQ(dot.nodes.size(), 21u);
  const std::string op_root = dot.Find("op-root");
  for (const std::string& id : dot.NodesWithShape("box")) {
    if (id == op_root) continue;
    const std::string label = dot.Label(id);
    ASSERT_TRUE(absl::StartsWith(label, "sleep\n")) << label;
    EXPECT_TRUE(sleeps.count(label.substr(6))) << label;
  }

  const auto dotted = dot.EdgesWithStyle("dotted");
  ASSERT_EQ(dotted.size(), 10u);
  std::set<std::string> launched;
  for (const DotEdge& e : dotted) {
    EXPECT_EQ(e.from, op_root);
    EXPECT_EQ(dot.Attr(e.to, "shape"), "box");
    launched.insert(e.to);
  }
  EXPECT_EQ(launched.size(), 10u);

  const auto solid = dot.EdgesWithStyle("solid");
  ASSERT_EQ(solid.size(), 10u);
  std::set<std::string> outputs;
  for (const DotEdge& e : solid) {
    EXPECT_TRUE(launched.count(e.from));
    EXPECT_EQ(dot.Attr(e.to, "shape"), "ellipse");
    // The object's short ID names the task that returned it.
    EXPECT_EQ(dot.Label(e.to), dot.Label(e.from).substr(6) + ".1");
    outputs.insert(e.to);
  }
  EXPECT_EQ(outputs.size(), 10u);
  EXPECT_EQ(dot.edges.size(), 20u);
}

TEST(TaskGraphTest, ZerosAndDot) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  TaskID a = RunTask(g, root, "zeros");
  TaskID b = RunTask(g, root, "zeros");
  TaskID c = RunTask(g, root, "dot", {ObjectID::ForReturn(a, 1), ObjectID::ForReturn(b, 1)});

  DotGraph dot(ToDot(g.Take()));
  EXPECT_EQ(dot.NodesWithShape("box").size(), 4u);
  EXPECT_EQ(dot.NodesWithShape("ellipse").size(), 3u);
  const std::string za = "zeros\n" + Short(a), zb = "zeros\n" + Short(b), d = "dot\n" + Short(c);
  const std::string oa = Short(a) + ".1", ob = Short(b) + ".1", oc = Short(c) + ".1";
  using Edges = std::multiset<std::pair<std::string, std::string>>;
  EXPECT_EQ(dot.LabelledEdges("dotted"), (Edges{{"op-root", za}, {"op-root", zb}, {"op-root", d}}));
  EXPECT_EQ(dot.LabelledEdges("solid"), (Edges{{za, oa}, {zb, ob}, {oa, d}, {ob, d}, {d, oc}}));
  EXPECT_EQ(dot.edges.size(), 8u);
}

TEST(TaskGraphTest, NestedTasksHangUnderTheirParent) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  std::map<std::string, std::set<std::string>> children;  // run label -> sub labels
  for (int i = 0; i < 5; ++i) {
    TaskID run = RunTask(g, root, "run_experiment");
    for (int j = 0; j < 10; ++j) {
      children["run_experiment\n" + Short(run)].insert("sub_experiment\n" +
                                                       Short(RunTask(g, run, "sub_experiment")));
    }
  }
  TaskGraph::Snapshot s = g.Take();
  ASSERT_EQ(s.tasks.size(), 55u);
  EXPECT_EQ(s.tasks[0].parent, root);
  EXPECT_EQ(s.tasks[1].parent, s.tasks[0].id);

  DotGraph dot(ToDot(s));
  auto dotted = dot.LabelledEdges("dotted");
  EXPECT_EQ(dotted.size(), 55u);
  std::map<std::string, std::set<std::string>> seen;
  for (const auto& [from, to] : dotted) {
    if (from == "op-root") {
      EXPECT_TRUE(absl::StartsWith(to, "run_experiment")) << to;
    } else {
      seen[from].insert(to);
    }
  }
  EXPECT_EQ(seen, children);
}

TEST(TaskGraphTest, StatesAreStyled) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  TaskID waiting = TaskID::FromRandom(), running = TaskID::FromRandom();
  g.OnSubmit(waiting, root, "waits", {}, 1, At(0));
  g.OnSubmit(running, root, "runs", {}, 1, At(0));
  g.OnStart(running, 7, At(5));
  TaskID done = RunTask(g, root, "works");
  TaskID failed = RunTask(g, root, "breaks", {}, 1, /*failed=*/true);
  // Start/finish of a task never submitted are ignored.
  g.OnStart(TaskID::FromRandom(), 1, At(1));
  g.OnFinish(TaskID::FromRandom(), true, At(1));

  TaskGraph::Snapshot s = g.Take();
  ASSERT_EQ(s.tasks.size(), 4u);
  EXPECT_EQ(s.tasks[0].state, State::kWaiting);
  EXPECT_EQ(s.tasks[0].started, absl::InfinitePast());
  EXPECT_EQ(s.tasks[0].worker_pid, -1);
  EXPECT_EQ(s.tasks[1].state, State::kRunning);
  EXPECT_EQ(s.tasks[1].worker_pid, 7);
  EXPECT_EQ(s.tasks[1].started, At(5));
  EXPECT_EQ(s.tasks[2].state, State::kDone);
  EXPECT_EQ(s.tasks[3].state, State::kFailed);
  EXPECT_EQ(s.tasks[3].finished, At(20));

  DotGraph dot(ToDot(s));
  const auto style = [&](const std::string& label) { return dot.Attr(dot.Find(label), "style"); };
  EXPECT_EQ(style("op-root"), "bold");
  EXPECT_EQ(style("works\n" + Short(done)), "solid");
  EXPECT_EQ(style("waits\n" + Short(waiting)), "dashed");
  EXPECT_EQ(style("runs\n" + Short(running)), "filled,dashed");
  const std::string bad = dot.Find("breaks\n" + Short(failed));
  EXPECT_EQ(dot.Attr(bad, "style"), "filled,bold");
  EXPECT_EQ(dot.Attr(bad, "fillcolor"), "#ff8080");
  // Results: of a failed task red, of an unfinished one dashed, of a done one plain.
  EXPECT_EQ(dot.Attr(dot.Find(Short(failed) + ".1"), "color"), "#c00000");
  EXPECT_EQ(dot.Attr(dot.Find(Short(running) + ".1"), "style"), "dashed");
  EXPECT_EQ(dot.Attr(dot.Find(Short(done) + ".1"), "style"), "solid");
}

TEST(TaskGraphTest, ResubmissionResetsTheStateOnly) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  TaskID t = RunTask(g, root, "f", {}, 1, /*failed=*/true);
  g.OnSubmit(t, root, "f", {}, 1, At(100));
  TaskGraph::Snapshot s = g.Take();
  ASSERT_EQ(s.tasks.size(), 1u);
  EXPECT_EQ(s.tasks[0].state, State::kWaiting);
  EXPECT_EQ(s.tasks[0].submitted, At(0));
}

TEST(TaskGraphTest, PastMaxTasksEventsAreCountedNotRecorded) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root, /*max_tasks=*/3);
  std::vector<TaskID> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(RunTask(g, root, "f"));
  for (int i = 0; i < 4; ++i) g.OnPut(ObjectID::ForPut(root, i), root, At(0));
  g.OnSubmit(ids[0], root, "f", {}, 1, At(30));  // a recorded task re-runs: still tracked
  TaskGraph::Snapshot s = g.Take();
  ASSERT_EQ(s.tasks.size(), 3u);
  EXPECT_EQ(s.tasks[0].state, State::kWaiting);
  EXPECT_EQ(s.tasks[2].id, ids[2]);
  EXPECT_EQ(s.tasks_not_recorded, 2u);
  EXPECT_EQ(s.puts.size(), 3u);
  EXPECT_EQ(s.puts_not_recorded, 1u);
  EXPECT_NE(ToDot(s).find("not recorded, past the recorder's limit: 2 more tasks, 1 more puts"),
            std::string::npos);
}

TEST(TaskGraphTest, HiddenPutsAreNeitherObjectsNorReads) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  ObjectID hidden = ObjectID::ForPut(root, 1, /*hidden=*/true);
  ObjectID shown = ObjectID::ForPut(root, 2);
  EXPECT_TRUE(hidden.IsHiddenPut() && !shown.IsHiddenPut());
  EXPECT_EQ(hidden.PutIndex(), 1u);
  g.OnPut(hidden, root, At(0));
  g.OnPut(shown, root, At(0));
  RunTask(g, root, "reader", {hidden, shown});
  TaskGraph::Snapshot s = g.Take();
  ASSERT_EQ(s.puts.size(), 1u);
  EXPECT_EQ(s.puts[0].first, shown);
  EXPECT_EQ(s.tasks[0].reads, std::vector<ObjectID>{shown});
}

TEST(TaskGraphTest, PutsAndUnknownObjects) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  ObjectID put = ObjectID::ForPut(root, 0);
  g.OnPut(put, root, At(0));
  ObjectID stranger = ObjectID::ForReturn(TaskID::FromRandom(), 1);
  TaskID reader = RunTask(g, root, "reader", {put, stranger});
  TaskGraph::Snapshot s = g.Take();
  ASSERT_EQ(s.puts.size(), 1u);
  EXPECT_EQ(s.puts[0].first, put);
  EXPECT_EQ(s.puts[0].second, root);
  ASSERT_EQ(s.tasks[0].reads.size(), 2u);
  EXPECT_EQ(s.tasks[0].reads[1], stranger);

  DotGraph dot(ToDot(s));
  using Edges = std::multiset<std::pair<std::string, std::string>>;
  const std::string r = "reader\n" + Short(reader), p = "put\n" + Short(root) + ".p0";
  const std::string unknown = Short(stranger.Task()) + ".1";
  EXPECT_EQ(dot.LabelledEdges("solid"),
            (Edges{{"op-root", p}, {p, r}, {unknown, r}, {r, Short(reader) + ".1"}}));
}

// --- Folding.

TEST(TaskGraphTest, ThousandSiblingsFoldIntoOneBox) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  for (int i = 0; i < 1000; ++i) RunTask(g, root, "sleep");
  TaskGraph::Snapshot s = g.Take();
  const DotOptions options;
  DotGraph dot(ToDot(s, options));
  EXPECT_LE(dot.nodes.size(), options.fold_threshold);
  ASSERT_EQ(dot.NodesWithShape("box").size(), 2u);
  ASSERT_EQ(dot.NodesWithShape("ellipse").size(), 1u);
  const std::string sleeps = dot.Find("sleep \u00d71000");
  const std::string objects = dot.Find("\u00d71000");
  EXPECT_EQ(dot.Attr(sleeps, "style"), "solid");
  ASSERT_EQ(dot.edges.size(), 2u);
  EXPECT_EQ(dot.LabelledEdges("dotted"),
            (std::multiset<std::pair<std::string, std::string>>{{"op-root", "sleep \u00d71000"}}));
  EXPECT_EQ(dot.EdgesWithStyle("dotted")[0].attrs.at("label"), "\u00d71000");
  EXPECT_EQ(dot.EdgesWithStyle("solid")[0].from, sleeps);
  EXPECT_EQ(dot.EdgesWithStyle("solid")[0].to, objects);
  EXPECT_EQ(dot.EdgesWithStyle("solid")[0].attrs.at("label"), "\u00d71000");
  ExpectFoldAccountsForAll(s, dot);
}

TEST(TaskGraphTest, NothingFoldsAtOrBelowTheThreshold) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  for (int i = 0; i < 100; ++i) RunTask(g, root, "sleep");
  TaskGraph::Snapshot s = g.Take();  // 101 tasks + 100 objects.
  for (size_t threshold : {size_t{300}, size_t{201}}) {
    const std::string text = ToDot(s, {.fold_threshold = threshold});
    EXPECT_FALSE(absl::StrContains(text, "\u00d7")) << threshold;
    DotGraph dot(text);
    EXPECT_EQ(dot.NodesWithShape("box").size(), 101u);
    EXPECT_EQ(dot.NodesWithShape("ellipse").size(), 100u);
    EXPECT_EQ(dot.edges.size(), 200u);
  }
  DotGraph folded(ToDot(s, {.fold_threshold = 200}));
  EXPECT_EQ(folded.nodes.size(), 3u);
}

TEST(TaskGraphTest, FoldingFollowsAPipelineAndStaysTruthful) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  std::vector<ObjectID> loaded, mapped;
  for (int i = 0; i < 200; ++i) loaded.push_back(ObjectID::ForReturn(RunTask(g, root, "load"), 1));
  for (int i = 0; i < 200; ++i) {
    // One map fails: the folded box must say so.
    mapped.push_back(ObjectID::ForReturn(RunTask(g, root, "map", {loaded[i]}, 1, i == 17), 1));
  }
  TaskID reduce = RunTask(g, root, "reduce", mapped);
  TaskID odd = RunTask(g, root, "inspect", {loaded[3]});  // Reads one specific result.
  TaskGraph::Snapshot s = g.Take();

  DotGraph dot(ToDot(s));
  EXPECT_EQ(dot.NodesWithShape("box").size(), 5u);  // root, load, map, reduce, inspect
  EXPECT_EQ(dot.NodesWithShape("ellipse").size(), 4u);
  const std::string load = "load \u00d7200", map = "map \u00d7200\n1 failed";
  const std::string r = "reduce\n" + Short(reduce), ins = "inspect\n" + Short(odd);
  EXPECT_EQ(dot.Attr(dot.Find(map), "style"), "filled,bold");
  EXPECT_EQ(dot.Attr(dot.Find(load), "style"), "solid");
  using Edges = std::multiset<std::pair<std::string, std::string>>;
  EXPECT_EQ(dot.LabelledEdges("dotted"),
            (Edges{{"op-root", load}, {"op-root", map}, {"op-root", r}, {"op-root", ins}}));
  EXPECT_EQ(dot.LabelledEdges("solid"), (Edges{{load, "\u00d7200"},
                                               {"\u00d7200", map},
                                               {map, "\u00d7200"},
                                               {"\u00d7200", r},
                                               {"\u00d7200", ins},
                                               {r, Short(reduce) + ".1"},
                                               {ins, Short(odd) + ".1"}}));
  // The folded load results go to the single inspect task through one edge, not two hundred.
  for (const DotEdge& e : dot.EdgesWithStyle("solid")) {
    if (dot.Label(e.to) == ins) {
      EXPECT_EQ(e.attrs.count("label"), 0u);
    }
    if (dot.Label(e.to) == r) {
      EXPECT_EQ(e.attrs.at("label"), "\u00d7200");
    }
  }
  ExpectFoldAccountsForAll(s, dot);
}

TEST(TaskGraphTest, FoldingKeepsChildrenUnderFoldedParents) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  for (int i = 0; i < 50; ++i) {
    TaskID run = RunTask(g, root, "run_experiment");
    for (int j = 0; j < 10; ++j) RunTask(g, run, "sub_experiment");
  }
  TaskGraph::Snapshot s = g.Take();
  DotGraph dot(ToDot(s));
  EXPECT_EQ(dot.nodes.size(), 5u);
  using Edges = std::multiset<std::pair<std::string, std::string>>;
  EXPECT_EQ(dot.LabelledEdges("dotted"),
            (Edges{{"op-root", "run_experiment \u00d750"},
                   {"run_experiment \u00d750", "sub_experiment \u00d7500"}}));
  ExpectFoldAccountsForAll(s, dot);
}

TEST(TaskGraphTest, DistinctInputsDoNotFoldButPutsDo) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  // 200 tasks each reading a different object of unknown origin: nothing in common.
  for (int i = 0; i < 200; ++i) {
    RunTask(g, root, "lonely", {ObjectID::ForReturn(TaskID::FromRandom(), 1)});
  }
  // 200 objects put by the driver, each read by one task: the puts fold, and so do the readers.
  for (uint32_t i = 0; i < 200; ++i) {
    ObjectID put = ObjectID::ForPut(root, i);
    g.OnPut(put, root, At(0));
    RunTask(g, root, "consume", {put});
  }
  TaskGraph::Snapshot s = g.Take();
  DotGraph dot(ToDot(s));
  int lonely = 0;
  for (const std::string& id : dot.NodesWithShape("box")) {
    lonely += absl::StartsWith(dot.Label(id), "lonely\n");
  }
  EXPECT_EQ(lonely, 200);
  dot.Find("consume \u00d7200");
  dot.Find("put \u00d7200");
  EXPECT_EQ(dot.nodes.size(), 1 + 200 * 3 + 3u);
  ExpectFoldAccountsForAll(s, dot);
}

// --- Labels.

TEST(TaskGraphTest, LabelsAreEscaped) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  const std::string nasty = "ns::f\"x\\y\"<int>\tnext\xff";
  TaskID t = RunTask(g, root, nasty);
  TaskID longer = RunTask(g, root, std::string(200, 'z'));
  const std::string text = ToDot(g.Take());
  DotGraph dot(text);
  dot.Find("f\"x\\y\"<int> next\ufffd\n" + Short(t));
  dot.Find(std::string(60, 'z') + "\u2026\n" + Short(longer));
  EXPECT_TRUE(absl::StrContains(text, R"(f\"x\\y\"<int>)")) << text;
}

TEST(TaskGraphTest, LabelsShowTheFunctionsShortName) {
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  TaskID t =
      RunTask(g, root, "(anonymous namespace)::zeros(std::vector<int, std::allocator<int> >)");
  TaskID n = RunTask(g, root, "a::b<c::d>::run(int)");
  DotGraph dot(ToDot(g.Take()));
  dot.Find("zeros\n" + Short(t));
  dot.Find("run\n" + Short(n));
}

// --- Threads and cost.

TEST(TaskGraphTest, ConcurrentRecordingIsConsistent) {
  constexpr int kThreads = 4, kTasks = 10000;
  TaskID root = TaskID::FromRandom();
  TaskGraph g(root);
  std::atomic<bool> done{false};
  std::atomic<int> snapshots{0};
  // Snapshots taken while the writers run must each be consistent.
  std::thread reader([&] {
    size_t last = 0;
    while (!done.load()) {
      TaskGraph::Snapshot s = g.Take();
      EXPECT_GE(s.tasks.size(), last);
      last = s.tasks.size();
      absl::flat_hash_map<TaskID, size_t> position;
      for (size_t i = 0; i < s.tasks.size(); ++i) {
        const TaskGraph::Task& t = s.tasks[i];
        if (t.parent != root) {
          auto it = position.find(t.parent);
          ASSERT_TRUE(it != position.end()) << "parent not recorded before its child";
        }
        for (const ObjectID& read : t.reads) ASSERT_TRUE(position.contains(read.Task()));
        ASSERT_TRUE(position.emplace(t.id, i).second) << "task recorded twice";
        const bool has_start = t.started != absl::InfinitePast();
        const bool has_end = t.finished != absl::InfinitePast();
        switch (t.state) {
          case State::kWaiting:
            ASSERT_FALSE(has_start);
            break;
          case State::kRunning:
            ASSERT_TRUE(has_start && !has_end && t.worker_pid > 0);
            break;
          case State::kDone:
          case State::kFailed:
            ASSERT_TRUE(has_start && has_end);
            break;
        }
      }
      ++snapshots;
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kThreads; ++w) {
    writers.emplace_back([&, w] {
      const std::string function = absl::StrCat("worker_fn_", w);
      TaskID previous = root;
      for (int i = 0; i < kTasks; ++i) {
        TaskID t = TaskID::FromRandom();
        std::vector<ObjectID> reads;
        if (i > 0) reads.push_back(ObjectID::ForReturn(previous, 1));
        g.OnSubmit(t, i % 10 == 0 ? root : previous, function, reads, 1, At(i));
        g.OnStart(t, 1000 + w, At(i));
        g.OnFinish(t, i % 100 == 0, At(i + 1));
        previous = t;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  done = true;
  reader.join();
  EXPECT_GT(snapshots.load(), 0);

  TaskGraph::Snapshot s = g.Take();
  ASSERT_EQ(s.tasks.size(), kThreads * kTasks);
  EXPECT_EQ(g.num_tasks(), s.tasks.size());
  std::map<std::string, int> per_function, failed;
  std::set<std::string> ids;
  for (const TaskGraph::Task& t : s.tasks) {
    ++per_function[t.function];
    failed[t.function] += t.state == State::kFailed;
    EXPECT_NE(t.state, State::kWaiting);
    EXPECT_NE(t.state, State::kRunning);
    ids.insert(t.id.Hex());
  }
  EXPECT_EQ(ids.size(), s.tasks.size());
  for (int w = 0; w < kThreads; ++w) {
    EXPECT_EQ(per_function[absl::StrCat("worker_fn_", w)], kTasks);
    EXPECT_EQ(failed[absl::StrCat("worker_fn_", w)], kTasks / 100);
  }
  const absl::Time start = absl::Now();
  const std::string text = ToDot(s);
  std::printf("ToDot of %zu tasks: %zu bytes in %s\n", s.tasks.size(), text.size(),
              absl::FormatDuration(absl::Now() - start).c_str());
}

// Records 200,000 tasks and prints what each call costs (printed, not asserted: timings are for
// benchmarks; see docs/PERFORMANCE.md).
TEST(TaskGraphTest, RecordingCost) {
  constexpr int kTasks = 200000;
  TaskID root = TaskID::FromRandom();
  std::vector<TaskID> ids(kTasks);
  for (TaskID& id : ids) id = TaskID::FromRandom();
  const absl::Time when = absl::Now();
  double best = 1e9;
  for (int round = 0; round < 3; ++round) {
    TaskGraph g(root);  // A fresh graph each round: growth and first-touch costs included.
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kTasks; ++i) {
      const ObjectID read = ObjectID::ForReturn(ids[i > 0 ? i - 1 : 0], 1);
      g.OnSubmit(ids[i], root, "sleep", {&read, i > 0 ? 1u : 0u}, 1, when);
      g.OnStart(ids[i], 42, when);
      g.OnFinish(ids[i], false, when);
    }
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
        kTasks;
    std::printf("round %d: %.0f ns per task for OnSubmit + OnStart + OnFinish (%d tasks)\n", round,
                ns, kTasks);
    best = std::min(best, ns);
    ASSERT_EQ(g.num_tasks(), kTasks);
  }
  std::printf("recording cost: %.0f ns per task (best of 3)\n", best);
  {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    TaskGraph g(root);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kTasks; ++i) {
      const ObjectID read = ObjectID::ForReturn(ids[i > 0 ? i - 1 : 0], 1);
      g.OnSubmit(ids[i], root, "sleep", {&read, i > 0 ? 1u : 0u}, 1, when);
      g.OnStart(ids[i], 42, when);
      g.OnFinish(ids[i], false, when);
    }
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
        kTasks;
    std::printf("no deadlock detection: %.0f ns\n", ns);
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kAbort);
  }

  // Each call alone: all submissions, then all starts, then all finishes.
  TaskGraph g(root);
  const auto per_task = [&](const auto& call) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kTasks; ++i) call(i);
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start)
               .count() /
           kTasks;
  };
  const double submit = per_task([&](int i) {
    const ObjectID read = ObjectID::ForReturn(ids[i > 0 ? i - 1 : 0], 1);
    g.OnSubmit(ids[i], root, "sleep", {&read, i > 0 ? 1u : 0u}, 1, when);
  });
  const double start = per_task([&](int i) { g.OnStart(ids[i], 42, when); });
  const double finish = per_task([&](int i) { g.OnFinish(ids[i], false, when); });
  const auto before_take = std::chrono::steady_clock::now();
  EXPECT_EQ(g.Take().tasks.size(), kTasks);
  const double take =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - before_take)
          .count() /
      kTasks;
  std::printf("OnSubmit %.0f ns, OnStart %.0f ns, OnFinish %.0f ns; Take %.0f ns per task\n",
              submit, start, finish, take);
}

}  // namespace
}  // namespace ray::core
