#include "ray/observability/task_graph.h"

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

namespace ray::core {
namespace {

constexpr int64_t kUnset = std::numeric_limits<int64_t>::min();

int64_t ToNanos(absl::Time t) {
  if (t == absl::InfinitePast()) return kUnset;
  return absl::ToUnixNanos(t);
}

absl::Time FromNanos(int64_t ns) {
  return ns == kUnset ? absl::InfinitePast() : absl::FromUnixNanos(ns);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The recorder.

TaskGraph::TaskGraph(TaskID root, size_t max_tasks)
    : root_(root), max_tasks_(max_tasks), index_(0, IndexHash{&records_}, IndexEq{&records_}) {}

TaskGraph::Record* TaskGraph::Find(const TaskID& task) {
  auto it = index_.find(task);
  return it == index_.end() ? nullptr : &records_[*it];
}

uint32_t TaskGraph::ParentIndex(const TaskID& parent) {
  if (parent == root_) return kRootIndex;
  auto it = index_.find(parent);
  return it == index_.end() ? kNone : *it;
}

uint32_t TaskGraph::InternFunction(std::string_view name) {
  // The scheduler submits runs of the same function: try the last one before hashing.
  if (last_function_ != kNone && functions_[last_function_] == name) return last_function_;
  auto [it, inserted] = function_index_.try_emplace(absl::string_view(name.data(), name.size()),
                                                    static_cast<uint32_t>(functions_.size()));
  if (inserted) functions_.emplace_back(name);
  last_function_ = it->second;
  return it->second;
}

void TaskGraph::OnSubmit(const TaskID& task, const TaskID& parent, std::string_view function_name,
                         std::span<const ObjectID> reads, int num_returns, absl::Time when) {
  const int64_t now = ToNanos(when);
  absl::MutexLock lock(&mu_);
  if (records_.size() >= max_tasks_) {
    if (Record* known = Find(task); known != nullptr) {
      known->state = State::kWaiting;
    } else {
      ++tasks_not_recorded_;
    }
    return;
  }
  // Append first so that one hash lookup both checks for a re-submission and indexes the task.
  const uint32_t i = static_cast<uint32_t>(records_.size());
  Record& r = records_.Append();
  r.id = task;
  auto [it, inserted] = index_.insert(i);
  if (!inserted) {
    records_.PopBack();
    records_[*it].state = State::kWaiting;
    return;
  }
  r.parent = ParentIndex(parent);
  if (r.parent == kNone) odd_parents_.emplace(i, parent);
  r.function = InternFunction(function_name);
  r.reads_begin = static_cast<uint32_t>(reads_.size());
  for (const ObjectID& object : reads) {
    if (!object.IsHiddenPut()) reads_.Append() = object;
  }
  r.num_reads = static_cast<uint32_t>(reads_.size() - r.reads_begin);
  r.num_returns = num_returns;
  r.worker_pid = -1;
  r.node = 0;
  r.state = State::kWaiting;
  r.submitted = now;
  r.started = kUnset;
  r.finished = kUnset;
}

void TaskGraph::OnPut(const ObjectID& object, const TaskID& by, absl::Time when) {
  (void)when;
  if (object.IsHiddenPut()) return;
  absl::MutexLock lock(&mu_);
  if (puts_.size() >= max_tasks_) {
    ++puts_not_recorded_;
    return;
  }
  puts_.Append() = {object, by};
}

void TaskGraph::NameNode(uint16_t index, std::string id) {
  absl::MutexLock lock(&mu_);
  if (node_names_.size() <= index) node_names_.resize(index + 1);
  node_names_[index] = std::move(id);
}

void TaskGraph::OnStart(const TaskID& task, int worker_pid, absl::Time when, uint16_t node) {
  const int64_t now = ToNanos(when);
  absl::MutexLock lock(&mu_);
  Record* r = Find(task);
  if (r == nullptr) return;
  r->state = State::kRunning;
  r->worker_pid = worker_pid;
  r->node = node;
  r->started = now;
  r->finished = kUnset;
}

void TaskGraph::OnFinish(const TaskID& task, bool failed, absl::Time when) {
  const int64_t now = ToNanos(when);
  absl::MutexLock lock(&mu_);
  Record* r = Find(task);
  if (r == nullptr) return;
  r->state = failed ? State::kFailed : State::kDone;
  r->finished = now;
}

void TaskGraph::OnRan(const TaskID& task, int worker_pid, absl::Time started, absl::Time finished,
                      bool failed, uint16_t node) {
  absl::MutexLock lock(&mu_);
  Record* r = Find(task);
  if (r == nullptr) return;
  r->state = failed ? State::kFailed : State::kDone;
  r->worker_pid = worker_pid;
  r->node = node;
  r->started = ToNanos(started);
  r->finished = ToNanos(finished);
}

size_t TaskGraph::num_tasks() const {
  absl::MutexLock lock(&mu_);
  return records_.size();
}

TaskGraph::Snapshot TaskGraph::Take() const {
  // Copy the compact records under the lock; expand them into Tasks after releasing it.
  std::vector<Record> records;
  std::vector<ObjectID> reads;
  std::vector<std::string> functions;
  std::vector<std::string> node_names;
  absl::flat_hash_map<uint32_t, TaskID> odd_parents;
  Snapshot snapshot;
  snapshot.root = root_;
  {
    absl::MutexLock lock(&mu_);
    records.resize(records_.size());
    for (size_t i = 0; i < records.size(); ++i) records[i] = records_[i];
    reads.resize(reads_.size());
    for (size_t i = 0; i < reads.size(); ++i) reads[i] = reads_[i];
    functions = functions_;
    node_names = node_names_;
    odd_parents = odd_parents_;
    snapshot.puts.resize(puts_.size());
    for (size_t i = 0; i < puts_.size(); ++i) snapshot.puts[i] = puts_[i];
    snapshot.tasks_not_recorded = tasks_not_recorded_;
    snapshot.puts_not_recorded = puts_not_recorded_;
  }
  snapshot.tasks.resize(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    Task& t = snapshot.tasks[i];
    t.id = r.id;
    if (r.parent == kRootIndex) {
      t.parent = root_;
    } else if (r.parent == kNone) {
      t.parent = odd_parents[static_cast<uint32_t>(i)];
    } else {
      t.parent = records[r.parent].id;
    }
    t.function = functions[r.function];
    t.reads.assign(reads.begin() + r.reads_begin, reads.begin() + r.reads_begin + r.num_reads);
    t.num_returns = r.num_returns;
    t.state = r.state;
    t.submitted = FromNanos(r.submitted);
    t.started = FromNanos(r.started);
    t.finished = FromNanos(r.finished);
    t.worker_pid = r.worker_pid;
    if (r.worker_pid >= 0 && r.node < node_names.size()) t.node = node_names[r.node];
  }
  return snapshot;
}

}  // namespace ray::core
