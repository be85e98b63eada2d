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

namespace ray::core {
namespace {

using State = TaskGraph::State;

// --- A small DOT reader, enough for what ToDot writes: node and edge statements with
// attribute lists, default statements (graph/node/edge), comments and quoted strings.

struct DotNode {
  std::string id;
  std::map<std::string, std::string> attrs;
};
struct DotEdge {
  std::string from, to;
  std::map<std::string, std::string> attrs;
};

class DotGraph {
 public:
  explicit DotGraph(const std::string& text) { Parse(text); }

  std::vector<DotNode> nodes;
  std::vector<DotEdge> edges;

  const DotNode& Node(const std::string& id) const { return nodes.at(index_.at(id)); }
  std::string Attr(const std::string& id, const std::string& name) const {
    auto it = Node(id).attrs.find(name);
    return it == Node(id).attrs.end() ? "" : it->second;
  }
  std::string Label(const std::string& id) const { return Attr(id, "label"); }
  std::vector<std::string> NodesWithShape(const std::string& shape) const {
    std::vector<std::string> out;
    for (const DotNode& n : nodes) {
      if (n.attrs.count("shape") && n.attrs.at("shape") == shape) out.push_back(n.id);
    }
    return out;
  }
  std::vector<DotEdge> EdgesWithStyle(const std::string& style) const {
    std::vector<DotEdge> out;
    for (const DotEdge& e : edges) {
      if (e.attrs.count("style") && e.attrs.at("style") == style) out.push_back(e);
    }
    return out;
  }
  // The node whose label is `label`; fails the test unless there is exactly one.
  std::string Find(const std::string& label) const {
    std::vector<std::string> found;
    for (const DotNode& n : nodes) {
      if (n.attrs.count("label") && n.attrs.at("label") == label) found.push_back(n.id);
    }
    EXPECT_EQ(found.size(), 1u) << "label " << label;
    return found.empty() ? "" : found[0];
  }
  // (from label, to label) of edges with `style`, as a set.
  std::multiset<std::pair<std::string, std::string>> LabelledEdges(const std::string& style) const {
    std::multiset<std::pair<std::string, std::string>> out;
    for (const DotEdge& e : EdgesWithStyle(style)) out.insert({Label(e.from), Label(e.to)});
    return out;
  }

 private:
  std::vector<std::string> Tokenize(const std::string& s) {
    std::vector<std::string> tokens;
    size_t i = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (s.compare(i, 2, "//") == 0) {
        i = s.find('\n', i);
        if (i == std::string::npos) break;
      } else if (s.compare(i, 2, "->") == 0) {
        tokens.push_back("->");
        i += 2;
      } else if (std::string("{}[]=,;").find(c) != std::string::npos) {
        tokens.push_back(std::string(1, c));
        ++i;
      } else if (c == '"') {
        // Quoted: \" and \\ are escapes, \n a line break of the label.
        std::string value = "\"";
        for (++i; i < s.size() && s[i] != '"'; ++i) {
          if (s[i] == '\\' && i + 1 < s.size()) {
            ++i;
            value += s[i] == 'n' ? '\n' : s[i];
          } else {
            EXPECT_NE(s[i], '\n') << "a line break in a quoted string should be written \\n";
            value += s[i];
          }
        }
        ++i;
        tokens.push_back(value);
      } else {
        size_t j = i;
        while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_' ||
                                s[j] == '.' || s[j] == '#')) {
          ++j;
        }
        EXPECT_GT(j, i) << "unexpected character '" << c << "' in DOT at " << i;
        if (j == i) return tokens;
        tokens.push_back(s.substr(i, j - i));
        i = j;
      }
    }
    return tokens;
  }

  static std::string Value(const std::string& token) {
    return !token.empty() && token[0] == '"' ? token.substr(1) : token;
  }

  void Parse(const std::string& text) {
    std::vector<std::string> t = Tokenize(text);
    size_t i = 0;
    ASSERT_GE(t.size(), 3u);
    ASSERT_EQ(t[i++], "digraph");
    if (t[i] != "{") ++i;  // The graph's name.
    ASSERT_EQ(t[i++], "{");
    while (i < t.size() && t[i] != "}") {
      const std::string first = Value(t[i++]);
      std::map<std::string, std::string> attrs;
      auto read_attrs = [&]() {
        if (i >= t.size() || t[i] != "[") return;
        ++i;
        while (i < t.size() && t[i] != "]") {
          const std::string name = Value(t[i++]);
          ASSERT_EQ(t[i++], "=") << "after attribute " << name;
          attrs[name] = Value(t[i++]);
          if (t[i] == "," || t[i] == ";") ++i;
        }
        ++i;
      };
      if (t[i] == "->") {
        ++i;
        const std::string second = Value(t[i++]);
        read_attrs();
        edges.push_back({first, second, attrs});
      } else if (t[i] == "=") {
        i += 2;  // A graph attribute.
      } else {
        read_attrs();
        if (first != "graph" && first != "node" && first != "edge") {
          ASSERT_EQ(index_.count(first), 0u) << "node " << first << " declared twice";
          index_[first] = nodes.size();
          nodes.push_back({first, attrs});
        }
      }
      if (i < t.size() && t[i] == ";") ++i;
    }
    ASSERT_LT(i, t.size()) << "no closing brace";
    for (const DotEdge& e : edges) {
      EXPECT_TRUE(index_.count(e.from)) << "edge from undeclared node " << e.from;
      EXPECT_TRUE(index_.count(e.to)) << "edge to undeclared node " << e.to;
    }
  }

  std::map<std::string, size_t> index_;
};

// "f ×12" -> 12; a label without "×" stands for one.
int Multiplicity(const std::string& label) {
  const std::string times = "\u00d7";
  size_t at = label.find(times);
  if (at == std::string::npos) return 1;
  at += times.size();
  size_t end = at;
  while (end < label.size() && std::isdigit(static_cast<unsigned char>(label[end]))) ++end;
  int n = 0;
  EXPECT_TRUE(absl::SimpleAtoi(label.substr(at, end - at), &n)) << label;
  return n;
}

// Folding must account for everything: the counts on folded nodes and edges add up to the
// nodes and edges of the unfolded graph.
void ExpectFoldAccountsForAll(const TaskGraph::Snapshot& s, const DotGraph& folded) {
  const DotGraph full(ToDot(s, {.fold_threshold = SIZE_MAX}));
  for (const char* shape : {"box", "ellipse"}) {
    int members = 0;
    for (const std::string& id : folded.NodesWithShape(shape)) {
      members += Multiplicity(folded.Label(id));
    }
    EXPECT_EQ(members, full.NodesWithShape(shape).size()) << shape;
  }
  for (const char* style : {"dotted", "solid"}) {
    int members = 0;
    for (const DotEdge& e : folded.EdgesWithStyle(style)) {
      members += e.attrs.count("label") ? Multiplicity(e.attrs.at("label")) : 1;
    }
    EXPECT_EQ(members, full.EdgesWithStyle(style).size()) << style;
  }
}

absl::Time At(int64_t us) { return absl::FromUnixMicros(1'700'000'000'000'000 + us); }

std::string Short(const TaskID& id) { return id.Hex().substr(0, 8); }

// Submits a task that runs to the end (or fails).
TaskID RunTask(TaskGraph& g, const TaskID& parent, std::string_view function,
               std::vector<ObjectID> reads = {}, int num_returns = 1, bool failed = false,
               int pid = 100) {
  TaskID id = TaskID::FromRandom();
  g.OnSubmit(id, parent, function, reads, num_returns, At(0));
  g.OnStart(id, pid, At(10));
  g.OnFinish(id, failed, At(20));
  return id;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

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
