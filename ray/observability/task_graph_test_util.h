// Helpers of the computation graph's tests: a small reader of the DOT that ToDot writes, and
// builders of recorded graphs.
#pragma once

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

namespace ray::core::testing {

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
inline int Multiplicity(const std::string& label) {
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
inline void ExpectFoldAccountsForAll(const TaskGraph::Snapshot& s, const DotGraph& folded) {
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
inline TaskID RunTask(TaskGraph& g, const TaskID& parent, std::string_view function,
                      std::vector<ObjectID> reads = {}, int num_returns = 1, bool failed = false,
                      int pid = 100) {
  TaskID id = TaskID::FromRandom();
  g.OnSubmit(id, parent, function, reads, num_returns, At(0));
  g.OnStart(id, pid, At(10));
  g.OnFinish(id, failed, At(20));
  return id;
}

inline std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

inline int Count(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace ray::core::testing
