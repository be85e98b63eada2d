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
using State = TaskGraph::State;

const char* StateName(State state) {
  switch (state) {
    case State::kWaiting:
      return "waiting";
    case State::kRunning:
      return "running";
    case State::kDone:
      return "done";
    case State::kFailed:
      return "failed";
  }
  return "unknown";
}

// Microseconds with nanosecond digits, as trace-event JSON wants them.
std::string Micros(absl::Duration d) {
  int64_t ns = std::max<int64_t>(0, absl::ToInt64Nanoseconds(d));
  return absl::StrFormat("%d.%03d", ns / 1000, ns % 1000);
}

}  // namespace

std::string ToTimelineJson(const TaskGraph::Snapshot& graph) {
  // The origin is the earliest time recorded; a running task lasts until the latest.
  absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
  for (const TaskGraph::Task& t : graph.tasks) {
    for (absl::Time time : {t.submitted, t.started, t.finished}) {
      if (time == absl::InfinitePast() || time == absl::InfiniteFuture()) continue;
      first = std::min(first, time);
      last = std::max(last, time);
    }
  }
  // One row per worker: by pid on one node; in a cluster run, by node and pid (rows numbered
  // in that order, named after both).
  std::map<std::pair<std::string, int>, int> workers;
  bool cluster = false;
  for (const TaskGraph::Task& t : graph.tasks) {
    if (t.started == absl::InfinitePast()) continue;
    workers[{t.node, t.worker_pid}] = t.worker_pid;
    cluster |= !t.node.empty();
  }
  if (cluster) {
    int row = 0;
    for (auto& [key, id] : workers) id = ++row;
  }
  std::string out = "{\"traceEvents\":[\n";
  bool comma = false;
  const auto begin_event = [&]() {
    if (comma) out += ",\n";
    comma = true;
  };
  for (const auto& [key, pid] : workers) {
    const std::string name =
        key.first.empty() ? absl::StrCat("worker ", key.second)
                          : absl::StrCat("node ", key.first.substr(0, 8), " worker ", key.second);
    for (const char* what : {"process_name", "thread_name"}) {
      begin_event();
      absl::StrAppend(&out, "{\"name\":\"", what, "\",\"ph\":\"M\",\"pid\":", pid, ",\"tid\":", pid,
                      ",\"args\":{\"name\":\"", name, "\"}}");
    }
    begin_event();
    absl::StrAppend(&out, "{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":", pid,
                    ",\"tid\":", pid, ",\"args\":{\"sort_index\":", pid, "}}");
  }
  for (const TaskGraph::Task& t : graph.tasks) {
    if (t.started == absl::InfinitePast()) continue;
    const absl::Time end = t.finished != absl::InfinitePast() ? t.finished : last;
    begin_event();
    out += "{\"name\":\"";
    AppendQuoted(&out, CleanText(t.function));
    const int row = workers.at({t.node, t.worker_pid});
    absl::StrAppend(&out, "\",\"cat\":\"task\",\"ph\":\"X\",\"pid\":", row, ",\"tid\":", row,
                    ",\"ts\":", Micros(t.started - first), ",\"dur\":", Micros(end - t.started));
    if (t.state == State::kFailed) out += ",\"cname\":\"terrible\"";
    absl::StrAppend(&out, ",\"args\":{\"task_id\":\"", t.id.Hex(), "\",\"parent\":\"",
                    t.parent == graph.root ? std::string("op-root") : t.parent.Hex(),
                    "\",\"state\":\"", StateName(t.state), "\"");
    if (!t.node.empty()) absl::StrAppend(&out, ",\"node\":\"", t.node, "\"");
    if (t.submitted != absl::InfinitePast()) {
      absl::StrAppend(&out, ",\"queued_us\":", Micros(t.started - t.submitted));
    }
    out += "}}";
  }
  if (graph.tasks_not_recorded + graph.puts_not_recorded > 0) {
    // A global instant event at the end, where a viewer shows it over every row.
    begin_event();
    absl::StrAppend(&out, "{\"name\":\"not recorded, past the recorder's limit: ",
                    graph.tasks_not_recorded, " more tasks, ", graph.puts_not_recorded,
                    " more puts\",\"ph\":\"i\",\"s\":\"g\",\"pid\":0,\"tid\":0,\"ts\":",
                    last == absl::InfinitePast() ? std::string("0") : Micros(last - first), "}");
  }
  out += "\n],\"displayTimeUnit\":\"ms\"}\n";
  return out;
}

absl::Status WriteTimeline(const TaskGraph::Snapshot& graph, const std::string& path) {
  return WriteFile(path, ToTimelineJson(graph));
}

}  // namespace ray::core
