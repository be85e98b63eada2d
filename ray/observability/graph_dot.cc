#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ray/observability/graph_text.h"
#include "ray/observability/task_graph.h"

namespace ray::core {
namespace {

using namespace graph_text;  // NOLINT: this file is their user

// ---------------------------------------------------------------------------------------------
// The graph, indexed and grouped for drawing.

constexpr uint32_t kNone = 0xffffffffu;
constexpr uint32_t kPutSlot = 0xffffffffu;
constexpr uint32_t kUnknownSlot = 0;

using State = TaskGraph::State;

struct ObjectNode {
  ObjectID id;
  uint32_t producer;  // Task node that returned or put it; kNone if unknown.
  uint32_t slot;      // Return index 1..n, kPutSlot, or kUnknownSlot.
};

struct TaskGroup {
  uint32_t first;  // Task node of the first member.
  uint32_t count = 0;
  uint32_t by_state[4] = {0, 0, 0, 0};
};

struct ObjectGroup {
  uint32_t first;  // Object node of the first member.
  uint32_t count = 0;
  uint32_t pending = 0;  // Members whose producer has not finished.
  uint32_t failed = 0;   // Members whose producer failed.
};

// Edges between groups, each kept once with the number of edges it stands for.
class EdgeSet {
 public:
  struct Edge {
    uint32_t from, to, count;
  };
  void Add(uint32_t from, uint32_t to) {
    auto [it, inserted] = index_.try_emplace(uint64_t{from} << 32 | to, edges_.size());
    if (inserted) edges_.push_back({from, to, 0});
    ++edges_[it->second].count;
  }
  const std::vector<Edge>& edges() const { return edges_; }

 private:
  std::vector<Edge> edges_;
  absl::flat_hash_map<uint64_t, size_t> index_;
};

class GraphLayout {
 public:
  GraphLayout(const TaskGraph::Snapshot& graph, const DotOptions& options);
  std::string Dot() const;

 private:
  // Node 0 is the root, node k + 1 is graph.tasks[k].
  const TaskGraph::Task* TaskOf(uint32_t node) const {
    return node == 0 ? nullptr : &graph_.tasks[node - 1];
  }
  State StateOf(uint32_t node) const { return node == 0 ? State::kDone : TaskOf(node)->state; }
  uint32_t AddObject(const ObjectID& id, uint32_t producer, uint32_t slot);
  void Group(bool fold);
  uint32_t ObjectGroupOf(uint32_t object, bool fold);
  uint32_t NewTaskGroup(uint32_t node);
  std::string TaskLabel(const TaskGroup& group) const;
  std::string ObjectLabel(const ObjectGroup& group) const;

  const TaskGraph::Snapshot& graph_;
  size_t num_nodes_ = 0;
  bool folded_ = false;

  std::vector<uint32_t> parent_;  // Task node of each task's parent; kNone if unknown.
  std::vector<ObjectNode> objects_;
  absl::flat_hash_map<ObjectID, uint32_t> object_index_;
  std::vector<uint32_t> reads_;        // Object nodes read, task after task.
  std::vector<uint32_t> reads_begin_;  // Per task node, into reads_ (num task nodes + 1).

  std::vector<uint32_t> task_group_, object_group_;
  std::vector<TaskGroup> task_groups_;
  std::vector<ObjectGroup> object_groups_;
  absl::flat_hash_map<uint64_t, uint32_t> object_group_index_;  // (task group, slot) -> group
  EdgeSet launches_, returns_, inputs_;
};

GraphLayout::GraphLayout(const TaskGraph::Snapshot& graph, const DotOptions& options)
    : graph_(graph) {
  const size_t n = graph.tasks.size() + 1;
  absl::flat_hash_map<TaskID, uint32_t> task_index;
  task_index.reserve(n);
  task_index.emplace(graph.root, 0);
  for (size_t k = 0; k < graph.tasks.size(); ++k) task_index.try_emplace(graph.tasks[k].id, k + 1);
  auto find_task = [&](const TaskID& id) {
    auto it = task_index.find(id);
    return it == task_index.end() ? kNone : it->second;
  };

  parent_.assign(n, kNone);
  for (uint32_t node = 1; node < n; ++node) parent_[node] = find_task(TaskOf(node)->parent);

  for (uint32_t node = 1; node < n; ++node) {
    const TaskGraph::Task& t = *TaskOf(node);
    for (int i = 1; i <= t.num_returns; ++i) AddObject(ObjectID::ForReturn(t.id, i), node, i);
  }
  for (const auto& [object, by] : graph.puts) AddObject(object, find_task(by), kPutSlot);
  reads_begin_.assign(n + 1, 0);
  for (uint32_t node = 1; node < n; ++node) {
    reads_begin_[node] = reads_.size();
    for (const ObjectID& read : TaskOf(node)->reads) {
      auto it = object_index_.find(read);
      reads_.push_back(it != object_index_.end() ? it->second
                                                 : AddObject(read, kNone, kUnknownSlot));
    }
  }
  reads_begin_[n] = reads_.size();

  num_nodes_ = n + objects_.size();
  Group(num_nodes_ > options.fold_threshold);
}

uint32_t GraphLayout::AddObject(const ObjectID& id, uint32_t producer, uint32_t slot) {
  auto [it, inserted] = object_index_.try_emplace(id, objects_.size());
  if (inserted) objects_.push_back({id, producer, slot});
  return it->second;
}

uint32_t GraphLayout::NewTaskGroup(uint32_t node) {
  task_groups_.push_back({.first = node});
  return task_groups_.size() - 1;
}

// The object's group, made when first needed; kNone while its producer has no group yet.
uint32_t GraphLayout::ObjectGroupOf(uint32_t object, bool fold) {
  uint32_t& group = object_group_[object];
  if (group != kNone) return group;
  const ObjectNode& o = objects_[object];
  const uint32_t next = object_groups_.size();
  if (!fold || o.producer == kNone || o.slot == kUnknownSlot) {
    group = next;
  } else {
    const uint32_t producer_group = task_group_[o.producer];
    if (producer_group == kNone) return kNone;
    group = object_group_index_.try_emplace(uint64_t{producer_group} << 32 | o.slot, next)
                .first->second;
  }
  if (group == next) object_groups_.push_back({.first = object});
  return group;
}

void GraphLayout::Group(bool fold) {
  folded_ = fold;
  const uint32_t n = parent_.size();
  task_group_.assign(n, kNone);
  object_group_.assign(objects_.size(), kNone);
  task_group_[0] = NewTaskGroup(0);

  // A task joins the group of the first earlier task with the same parent group, function and
  // set of input object groups. Submission order puts parents and producers first.
  absl::flat_hash_map<std::string, uint32_t> groups_by_key;
  std::vector<uint32_t> input_groups;
  std::string key;
  for (uint32_t node = 1; node < n; ++node) {
    bool foldable = fold && parent_[node] != kNone && task_group_[parent_[node]] != kNone;
    input_groups.clear();
    for (uint32_t r = reads_begin_[node]; foldable && r < reads_begin_[node + 1]; ++r) {
      const uint32_t group = ObjectGroupOf(reads_[r], fold);
      foldable = group != kNone;
      input_groups.push_back(group);
    }
    if (!foldable) {
      task_group_[node] = NewTaskGroup(node);
      continue;
    }
    std::sort(input_groups.begin(), input_groups.end());
    input_groups.erase(std::unique(input_groups.begin(), input_groups.end()), input_groups.end());
    key.clear();
    const uint32_t header[2] = {task_group_[parent_[node]],
                                static_cast<uint32_t>(input_groups.size())};
    key.append(reinterpret_cast<const char*>(header), sizeof(header));
    key.append(reinterpret_cast<const char*>(input_groups.data()),
               input_groups.size() * sizeof(uint32_t));
    key.append(TaskOf(node)->function);
    auto [it, inserted] = groups_by_key.try_emplace(key, task_groups_.size());
    if (inserted) NewTaskGroup(node);
    task_group_[node] = it->second;
  }
  for (uint32_t object = 0; object < objects_.size(); ++object) ObjectGroupOf(object, fold);

  for (uint32_t node = 0; node < n; ++node) {
    TaskGroup& group = task_groups_[task_group_[node]];
    ++group.count;
    ++group.by_state[static_cast<int>(StateOf(node))];
  }
  for (uint32_t object = 0; object < objects_.size(); ++object) {
    ObjectGroup& group = object_groups_[object_group_[object]];
    ++group.count;
    const uint32_t producer = objects_[object].producer;
    if (producer == kNone || objects_[object].slot == kPutSlot) continue;
    const State state = StateOf(producer);
    if (state == State::kFailed) ++group.failed;
    if (state == State::kWaiting || state == State::kRunning) ++group.pending;
  }

  for (uint32_t node = 1; node < n; ++node) {
    if (parent_[node] != kNone) launches_.Add(task_group_[parent_[node]], task_group_[node]);
  }
  for (uint32_t object = 0; object < objects_.size(); ++object) {
    const uint32_t producer = objects_[object].producer;
    if (producer != kNone) returns_.Add(task_group_[producer], object_group_[object]);
  }
  for (uint32_t node = 1; node < n; ++node) {
    for (uint32_t r = reads_begin_[node]; r < reads_begin_[node + 1]; ++r) {
      inputs_.Add(object_group_[reads_[r]], task_group_[node]);
    }
  }
}

constexpr size_t kMaxFunctionChars = 60;

// "ns::(anonymous namespace)::zeros(std::vector<int>)" -> "zeros": the name a user wrote, as
// the tutorial's picture shows it. Lambdas and names it cannot read stay whole.
std::string ShortFunctionName(std::string_view name) {
  int depth = 0;
  size_t end = name.size();
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c == '<' || c == '{') ++depth;
    if (c == '>' || c == '}') --depth;
    if (c == '(' && depth == 0 && i > 0) {
      end = i;
      break;
    }
  }
  std::string_view head = name.substr(0, end);
  depth = 0;
  size_t start = 0;
  for (size_t i = 0; i + 1 < head.size(); ++i) {
    char c = head[i];
    if (c == '<' || c == '(' || c == '{') ++depth;
    if (c == '>' || c == ')' || c == '}') --depth;
    if (depth == 0 && c == ':' && head[i + 1] == ':') start = i + 2;
  }
  std::string_view short_name = head.substr(start);
  if (short_name.empty() || short_name.find_first_of("{}") != std::string_view::npos) {
    return std::string(name);
  }
  return std::string(short_name);
}

std::string GraphLayout::TaskLabel(const TaskGroup& group) const {
  if (group.first == 0) return "op-root";
  const TaskGraph::Task& t = *TaskOf(group.first);
  std::string function = CleanText(ShortFunctionName(t.function), kMaxFunctionChars);
  if (group.count == 1) {
    if (t.node.empty()) return absl::StrCat(function, "\n", ShortTaskId(t.id));
    return absl::StrCat(function, "\n", ShortTaskId(t.id), "\non node ", t.node.substr(0, 8));
  }
  std::vector<std::string> states;
  const auto count = [&](State s) { return group.by_state[static_cast<int>(s)]; };
  if (count(State::kFailed) > 0) states.push_back(absl::StrCat(count(State::kFailed), " failed"));
  if (count(State::kRunning) > 0) {
    states.push_back(absl::StrCat(count(State::kRunning), " running"));
  }
  if (count(State::kWaiting) > 0) {
    states.push_back(absl::StrCat(count(State::kWaiting), " waiting"));
  }
  std::string label = absl::StrCat(function, " \u00d7", group.count);
  if (!states.empty()) absl::StrAppend(&label, "\n", absl::StrJoin(states, ", "));
  return label;
}

std::string GraphLayout::ObjectLabel(const ObjectGroup& group) const {
  const ObjectNode& o = objects_[group.first];
  const bool put = o.slot == kPutSlot || o.id.IsPut();
  if (group.count == 1)
    return put ? absl::StrCat("put\n", ShortObjectId(o.id)) : ShortObjectId(o.id);
  if (put) return absl::StrCat("put \u00d7", group.count);
  if (o.slot > 1) return absl::StrCat("\u00d7", group.count, " (return ", o.slot, ")");
  return absl::StrCat("\u00d7", group.count);
}

std::string GraphLayout::Dot() const {
  std::string out;
  out.reserve(128 * (task_groups_.size() + object_groups_.size()));
  out += "digraph computation_graph {\n";
  std::vector<std::string> notes;  // shown under the graph
  if (folded_) {
    absl::StrAppend(&out, "  // ", num_nodes_, " nodes folded into ",
                    task_groups_.size() + object_groups_.size(),
                    ": a box \"f \u00d7N\" stands for N similar sibling tasks.\n");
    notes.push_back(absl::StrCat(num_nodes_, " nodes, similar sibling tasks folded (f \u00d7N)"));
  }
  if (graph_.tasks_not_recorded + graph_.puts_not_recorded > 0) {
    notes.push_back(
        absl::StrCat("not recorded, past the recorder's limit: ", graph_.tasks_not_recorded,
                     " more tasks, ", graph_.puts_not_recorded, " more puts"));
  }
  if (!notes.empty()) {
    absl::StrAppend(&out, "  graph [labelloc=b, fontname=\"Helvetica\", fontsize=10, label=\"",
                    absl::StrJoin(notes, "\\n"), "\"];\n");
  }
  out += "  node [fontname=\"Helvetica\", fontsize=10];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=9, arrowsize=0.7];\n";

  for (uint32_t g = 0; g < task_groups_.size(); ++g) {
    const TaskGroup& group = task_groups_[g];
    absl::StrAppend(&out, "  t", g, " [shape=box, label=\"");
    AppendQuoted(&out, TaskLabel(group));
    out += "\", ";
    const auto count = [&](State s) { return group.by_state[static_cast<int>(s)]; };
    if (group.first == 0) {
      out += "style=bold";
    } else if (count(State::kFailed) > 0) {
      out += "style=\"filled,bold\", fillcolor=\"#ff8080\", color=\"#c00000\"";
    } else if (count(State::kRunning) > 0) {
      out += "style=\"filled,dashed\", fillcolor=\"#fff4b8\"";
    } else if (count(State::kWaiting) > 0) {
      out += "style=dashed";
    } else {
      out += "style=solid";
    }
    if (group.first != 0 && group.count == 1) {
      absl::StrAppend(&out, ", tooltip=\"task ", TaskOf(group.first)->id.Hex(), "\"");
    }
    out += "];\n";
  }
  for (uint32_t g = 0; g < object_groups_.size(); ++g) {
    const ObjectGroup& group = object_groups_[g];
    absl::StrAppend(&out, "  o", g, " [shape=ellipse, label=\"");
    AppendQuoted(&out, ObjectLabel(group));
    out += "\", ";
    if (group.failed > 0) {
      out += "style=solid, color=\"#c00000\"";
    } else if (group.pending > 0) {
      out += "style=dashed";
    } else {
      out += "style=solid";
    }
    if (group.count == 1) {
      absl::StrAppend(&out, ", tooltip=\"object ", objects_[group.first].id.Hex(), "\"");
    }
    out += "];\n";
  }
  const auto edges = [&out](const EdgeSet& set, char from, char to, const char* style) {
    for (const EdgeSet::Edge& e : set.edges()) {
      absl::StrAppend(&out, "  ", std::string(1, from), e.from, " -> ", std::string(1, to), e.to,
                      " [style=", style);
      if (e.count > 1) absl::StrAppend(&out, ", label=\"\u00d7", e.count, "\"");
      out += "];\n";
    }
  };
  edges(launches_, 't', 't', "dotted");
  edges(returns_, 't', 'o', "solid");
  edges(inputs_, 'o', 't', "solid");
  out += "}\n";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running Graphviz.

// Runs `argv` with `input` on its stdin, its stdout into `out_fd` and its stderr collected,
// for at most `timeout`. Sets *exit_status (waitpid status; -1 if the child was reaped by
// someone else) and *errors.
absl::Status RunWithInput(const std::vector<std::string>& argv, std::string_view input, int out_fd,
                          absl::Duration timeout, int* exit_status, std::string* errors) {
  const absl::Time deadline = absl::Now() + timeout;
  int in[2], err[2];
  // A socket for stdin: send(MSG_NOSIGNAL) cannot raise SIGPIPE if the child exits early.
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) {
    return absl::InternalError(absl::StrCat("socketpair: ", std::strerror(errno)));
  }
  if (pipe2(err, O_CLOEXEC) != 0) {
    int error = errno;
    close(in[0]);
    close(in[1]);
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(error)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[1], 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);  // Its own group, so a timeout kills all it started.
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const bool search = argv[0].find('/') == std::string::npos;
  int rc = search ? posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ)
                  : posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(in[1]);
  close(err[1]);
  if (rc != 0) {
    close(in[0]);
    close(err[0]);
    if (rc == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat("Graphviz is not installed: cannot run '", argv[0], "'",
                       search ? " (not found on PATH)" : "",
                       "; install the graphviz package, or write the graph to a .dot file"));
    }
    return absl::InternalError(absl::StrCat("cannot run ", argv[0], ": ", std::strerror(rc)));
  }
  fcntl(in[0], F_SETFL, O_NONBLOCK);

  constexpr size_t kMaxErrors = 4096;
  bool timed_out = false;
  bool stdin_open = true, stderr_open = true;
  while (stdin_open || stderr_open) {
    if (stdin_open && input.empty()) {
      close(in[0]);
      stdin_open = false;
      continue;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      timed_out = true;
      break;
    }
    pollfd fds[2];
    int nfds = 0;
    if (stdin_open) fds[nfds++] = {in[0], POLLOUT, 0};
    if (stderr_open) fds[nfds++] = {err[0], POLLIN, 0};
    const int ms = static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1000));
    if (poll(fds, nfds, ms) < 0 && errno != EINTR) break;
    for (int i = 0; i < nfds; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in[0]) {
        ssize_t n = send(in[0], input.data(), input.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
          input.remove_prefix(n);
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
          close(in[0]);  // The child stopped reading (exited): its status will say why.
          stdin_open = false;
        }
      } else {
        char buffer[4096];
        ssize_t n = read(err[0], buffer, sizeof(buffer));
        if (n > 0) {
          errors->append(buffer,
                         std::min<size_t>(n, kMaxErrors - std::min(kMaxErrors, errors->size())));
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          stderr_open = false;
        }
      }
    }
  }
  if (stdin_open) close(in[0]);
  close(err[0]);

  // Its stderr is closed, so it is exiting; wait for it, still within the deadline.
  *exit_status = -1;
  absl::Duration nap = absl::Microseconds(100);
  while (!timed_out) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      *exit_status = status;
      return absl::OkStatus();
    }
    if (r < 0 && errno == ECHILD) return absl::OkStatus();  // Reaped elsewhere (SIGCHLD ignored).
    if (absl::Now() >= deadline) break;
    absl::SleepFor(nap);
    nap = std::min(nap * 2, absl::Milliseconds(20));
  }
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return absl::DeadlineExceededError(absl::StrCat(argv[0], " did not finish within ",
                                                  absl::FormatDuration(timeout), "; killed it"));
}

std::string Extension(const std::string& path) {
  const size_t slash = path.rfind('/');
  const size_t dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  return absl::AsciiStrToLower(path.substr(dot + 1));
}

}  // namespace

std::string ToDot(const TaskGraph::Snapshot& graph, const DotOptions& options) {
  return GraphLayout(graph, options).Dot();
}

absl::Status WriteGraph(const TaskGraph::Snapshot& graph, const std::string& path,
                        const WriteGraphOptions& options) {
  const std::string extension = Extension(path);
  if (extension == "dot" || extension == "gv") return WriteFile(path, ToDot(graph, options.dot));
  if (extension != "svg" && extension != "png") {
    return absl::InvalidArgumentError(absl::StrCat("cannot write the graph to ", path,
                                                   ": the name must end in .dot, .svg or .png"));
  }
  const std::string dot = ToDot(graph, options.dot);
  absl::StatusOr<int> out = CreateFile(path);
  if (!out.ok()) return out.status();
  int exit_status = -1;
  std::string errors;
  absl::Status status = RunWithInput({options.dot_binary, absl::StrCat("-T", extension)}, dot, *out,
                                     options.timeout, &exit_status, &errors);
  close(*out);
  absl::StripTrailingAsciiWhitespace(&errors);
  const std::string command = absl::StrCat(options.dot_binary, " -T", extension);
  if (status.ok() && exit_status != -1 &&
      !(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0)) {
    status = absl::InternalError(
        absl::StrCat(command, " failed (",
                     WIFEXITED(exit_status) ? absl::StrCat("exit status ", WEXITSTATUS(exit_status))
                                            : absl::StrCat("signal ", WTERMSIG(exit_status)),
                     ")", errors.empty() ? "" : ": ", errors));
  }
  if (status.ok()) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || st.st_size == 0) {
      status = absl::InternalError(
          absl::StrCat(command, " wrote nothing to ", path, errors.empty() ? "" : ": ", errors));
    }
  }
  if (!status.ok()) unlink(path.c_str());
  return status;
}

}  // namespace ray::core
