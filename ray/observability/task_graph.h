// The computation graph: every task submitted (its function, the task that launched it, the
// objects it reads and returns), every object made by Put, and when each task started and
// ended on which worker. Drawn as in the 2016 tutorial: tasks are boxes, objects are ovals,
// dotted edges for "launched", solid edges for data. Also written as a Chrome trace timeline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ray/common/id.h"
#include "ray/observability/graph_snapshot.h"

namespace ray::core {

// Records the computation graph as the scheduler sees it. Thread-safe. Every On* call is
// O(1) amortized and allocates only when a storage chunk fills (every few thousand tasks) or a
// new function name is first seen, so it can be called on the task hot path under the
// scheduler's own mutex. Events for unknown tasks (OnStart/OnFinish without OnSubmit) are
// ignored. Memory grows with the number of tasks (about 80 bytes per task plus 24 per read) up
// to max_tasks: later tasks and puts are counted, not recorded (the graph keeps the beginning
// of the program; tasks already recorded still get their start and end).
class TaskGraph {
 public:
  using State = TaskState;
  using Task = RecordedTask;
  using Snapshot = TaskGraphSnapshot;
  static constexpr size_t kDefaultMaxTasks = 250'000;  // some 25 MB

  // `root` is the driver's task, drawn as the box "op-root".
  explicit TaskGraph(TaskID root, size_t max_tasks = kDefaultMaxTasks);
  TaskGraph(const TaskGraph&) = delete;
  TaskGraph& operator=(const TaskGraph&) = delete;

  // `task` was submitted by `parent` (the root or another task) to run `function_name`; it
  // reads `reads` and returns ObjectID::ForReturn(task, 1..num_returns). A second OnSubmit of
  // a known task (re-execution) only sets it back to kWaiting.
  void OnSubmit(const TaskID& task, const TaskID& parent, std::string_view function_name,
                std::span<const ObjectID> reads, int num_returns, absl::Time when);
  // `object` was made by Put in task `by` (the root or another task). The time is not kept.
  void OnPut(const ObjectID& object, const TaskID& by, absl::Time when);
  // Names node `index` of the recorder's caller (the scheduler's numbering) for OnStart and
  // OnRan: its ID, shown for the tasks that ran there. Unnamed nodes show nothing.
  void NameNode(uint16_t index, std::string id);
  void OnStart(const TaskID& task, int worker_pid, absl::Time when, uint16_t node = 0);
  void OnFinish(const TaskID& task, bool failed, absl::Time when);
  // The times the worker itself measured for a task it ran (a task queued behind another on
  // its worker starts later than the scheduler sent it): they replace the scheduler's.
  void OnRan(const TaskID& task, int worker_pid, absl::Time started, absl::Time finished,
             bool failed, uint16_t node = 0);

  // A consistent copy of everything recorded so far. Holds the lock only to copy the compact
  // records (O(tasks), a few tens of ns per task); expands them into Tasks after releasing it.
  Snapshot Take() const;

  size_t num_tasks() const;

 private:
  static constexpr uint32_t kNone = 0xffffffffu;
  static constexpr uint32_t kRootIndex = 0xfffffffeu;

  // One task, kept compact: the hot path writes these into chunks that never move.
  struct Record {
    TaskID id;
    uint32_t parent;  // Index of the parent record, kRootIndex, or kNone (see odd_parents_).
    uint32_t function;
    uint32_t reads_begin;
    uint32_t num_reads;
    int32_t num_returns;
    int32_t worker_pid;
    uint16_t node;
    State state;
    int64_t submitted, started, finished;  // Unix nanoseconds; INT64_MIN if not yet.
  };

  // A vector in fixed-size chunks: push_back never moves elements, so growth costs one
  // allocation per chunk and no copying under the lock.
  template <typename T, size_t kChunk>
  class Chunked {
   public:
    size_t size() const { return size_; }
    T& operator[](size_t i) { return chunks_[i / kChunk][i % kChunk]; }
    const T& operator[](size_t i) const { return chunks_[i / kChunk][i % kChunk]; }
    T& Append() {
      if (size_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique<T[]>(kChunk));
      return (*this)[size_++];
    }
    void PopBack() { --size_; }

   private:
    std::vector<std::unique_ptr<T[]>> chunks_;
    size_t size_ = 0;
  };

  // The task index holds record numbers only; they hash and compare through the record's ID.
  struct IndexHash {
    using is_transparent = void;
    const Chunked<Record, 4096>* records;
    size_t operator()(uint32_t i) const { return (*this)((*records)[i].id); }
    size_t operator()(const TaskID& id) const {
      // The ID's bytes as integers: several times faster than hashing them as a string.
      uint64_t a, b;
      uint32_t c;
      std::memcpy(&a, id.data(), 8);
      std::memcpy(&b, id.data() + 8, 8);
      std::memcpy(&c, id.data() + 16, 4);
      return absl::HashOf(a, b, c);
    }
  };
  struct IndexEq {
    using is_transparent = void;
    const Chunked<Record, 4096>* records;
    bool operator()(uint32_t a, uint32_t b) const { return (*records)[a].id == (*records)[b].id; }
    bool operator()(uint32_t a, const TaskID& b) const { return (*records)[a].id == b; }
    bool operator()(const TaskID& a, uint32_t b) const { return a == (*records)[b].id; }
  };

  Record* Find(const TaskID& task) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint32_t ParentIndex(const TaskID& parent) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint32_t InternFunction(std::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const TaskID root_;
  const size_t max_tasks_;
  mutable absl::Mutex mu_;
  std::vector<std::string> node_names_ ABSL_GUARDED_BY(mu_);  // by node index
  size_t tasks_not_recorded_ ABSL_GUARDED_BY(mu_) = 0;
  size_t puts_not_recorded_ ABSL_GUARDED_BY(mu_) = 0;
  Chunked<Record, 4096> records_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<uint32_t, IndexHash, IndexEq> index_ ABSL_GUARDED_BY(mu_);
  Chunked<ObjectID, 4096> reads_ ABSL_GUARDED_BY(mu_);
  Chunked<std::pair<ObjectID, TaskID>, 1024> puts_ ABSL_GUARDED_BY(mu_);
  // Parents that were neither the root nor a recorded task, by record number (rare).
  absl::flat_hash_map<uint32_t, TaskID> odd_parents_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> functions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint32_t> function_index_ ABSL_GUARDED_BY(mu_);
  uint32_t last_function_ ABSL_GUARDED_BY(mu_) = kNone;
};

struct DotOptions {
  // Above this many nodes (tasks + objects, the root included) the graph is folded: see ToDot.
  // 0 always folds; SIZE_MAX never does.
  size_t fold_threshold = 300;
};

// The graph in Graphviz DOT. Nodes: the root box "op-root"; one box per task (function name and
// the first 8 hex digits of its ID); one oval per object, labelled with its short ID "<first 8
// hex of its task>.<return index>" (Put objects: "put" over "<8 hex>.p<put index>").
// Edges: dotted parent -> child for each launch; solid task -> object for returns and Puts;
// solid object -> task for each read. Waiting tasks have a dashed border, running tasks a dashed
// border and a light yellow fill, failed tasks a red fill and bold border; objects of unfinished
// tasks are dashed, objects of failed tasks red.
//
// Folding (when the graph has more than fold_threshold nodes). Tasks are taken in submission
// order and put in groups: a task joins a group when it has the same parent group, the same
// function and reads from the same set of object groups as the group's first task; otherwise
// it starts a new group. The objects that a group's tasks return with index i form one object
// group, and the objects Put by a group's tasks form another. So siblings that read nothing, or
// read the same objects, fold into one box "f ×N", and their results into one oval "×N"; and
// the fold carries down a pipeline (N tasks each reading one of N folded results fold too, and
// so do the children of folded tasks). The folded drawing is the quotient graph: there is an
// edge between two groups exactly when some member of one has that edge to a member of the
// other, labelled "×k" when it stands for k > 1 edges. A folded box is failed if any member
// failed, in progress if any member is not done, and its label counts failed, running and
// waiting members. Tasks whose parent or inputs are not (yet) in the graph do not fold. The
// folded graph can still exceed the threshold when the work has no repeated structure.
std::string ToDot(const TaskGraph::Snapshot& graph, const DotOptions& options = {});

struct WriteGraphOptions {
  DotOptions dot;
  // The Graphviz program, found on PATH when it has no '/'.
  std::string dot_binary = "dot";
  // Rendering that takes longer is killed and reported as DeadlineExceeded.
  absl::Duration timeout = absl::Seconds(60);
};

// Writes the graph by the extension of `path`: ".dot" (or ".gv") writes the DOT source; ".svg" and
// ".png" render it with Graphviz (`dot -Tsvg` / `dot -Tpng`), waiting at most options.timeout.
// Errors: InvalidArgument for another extension, NotFound if Graphviz is not installed, and the
// reason when the file cannot be written or dot fails (the partial output is removed).
absl::Status WriteGraph(const TaskGraph::Snapshot& graph, const std::string& path,
                        const WriteGraphOptions& options = {});

// The run as a Chrome trace (chrome://tracing, ui.perfetto.dev): {"traceEvents":[...]} with
// one complete ("X") event per task that started, on one row per worker (pid = tid = worker
// pid, named "worker <pid>" by metadata events). ts and dur are microseconds from the earliest
// time in the graph; a task still running lasts until the latest time recorded. args hold the
// task ID, its parent, its state and how long it waited between submission and start.
std::string ToTimelineJson(const TaskGraph::Snapshot& graph);
absl::Status WriteTimeline(const TaskGraph::Snapshot& graph, const std::string& path);

}  // namespace ray::core
