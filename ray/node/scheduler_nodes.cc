// The scheduler in a cluster: the nodes it knows, placing ready tasks on them, workers of other
// nodes that connect back, and where the copies of stored objects are.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "ray/node/scheduler.h"
#include "ray/node/scheduler_internal.h"
#include "ray/object/status.h"

namespace ray::core {

using namespace scheduler_internal;  // NOLINT: the scheduler's own helpers

namespace {

// Ready tasks PlaceReadyTasks looks at per call, past those that must wait.
constexpr size_t kPlacementScan = 64;

// Whether two tasks ask for the same (so where one must wait, so does the other).
bool SameDemand(const TaskRecord& a, const TaskRecord& b) {
  return a.num_cpus == b.num_cpus && a.resources == b.resources;
}

}  // namespace

void Scheduler::JoinCluster(ClusterNode self, ClusterHooks hooks) {
  absl::MutexLock lock(&mu_);
  Node& node = nodes_[0];
  self.num_cpus = node.info.num_cpus;
  self.resources = node.info.resources;
  node.info = std::move(self);
  node_index_[node.info.id] = 0;
  if (graph_ != nullptr) graph_->NameNode(0, node.info.id);
  hooks_ = std::move(hooks);
  in_cluster_ = true;
  tasks_.Unplace(0);  // nothing was placed yet; lane 0 is now the unplaced tasks
}

void Scheduler::LeaveCluster() {
  absl::MutexLock lock(&mu_);
  hooks_ = {};
}

void Scheduler::UpdateNodes(std::vector<ClusterNode> nodes) {
  absl::MutexLock lock(&mu_);
  if (!in_cluster_) return;
  ++node_updates_;
  absl::flat_hash_set<int> listed;
  for (ClusterNode& info : nodes) {
    auto it = node_index_.find(info.id);
    if (it != node_index_.end()) {
      listed.insert(it->second);
      if (!info.alive && it->second != 0) {
        NodeLost(it->second, absl::StrCat("node ", info.id, " died"));
      }
      continue;
    }
    if (!info.alive || !info.runs_workers()) continue;
    if (nodes_.size() >= std::numeric_limits<uint16_t>::max()) continue;
    int index = static_cast<int>(nodes_.size());
    Node& node = nodes_.emplace_back(Node{.policy = {info.num_cpus, options_.max_workers}});
    node.cpus_free = info.num_cpus;
    node.custom_free = info.resources;
    node.info = std::move(info);
    node_index_[node.info.id] = index;
    if (graph_ != nullptr) graph_->NameNode(static_cast<uint16_t>(index), node.info.id);
    listed.insert(index);
  }
  for (size_t n = 1; n < nodes_.size(); ++n) {
    if (!listed.contains(static_cast<int>(n))) {
      NodeLost(static_cast<int>(n), absl::StrCat("node ", nodes_[n].info.id, " left the cluster"));
    }
  }
  Dispatch();
  FlushWorkers();
  Wake();  // a driver thread polling meanwhile sees what failed or moved (this is another thread)
}

void Scheduler::NodeLost(int n, const std::string& why) {
  Node& node = nodes_[n];
  if (!node.alive) return;
  node.alive = false;
  node.lost_why = why;
  node.starting = 0;
  tasks_.Unplace(n + 1);
  node.placed_cpus = 0;
  node.placed_custom.clear();
  for (auto& w : workers_) {
    if (w->node == n && w->state != Worker::State::kDead) WorkerDied(*w, why);
  }
  node.actors_waiting.clear();
  for (auto& [id, actor] : actors_) {  // those still waiting for a worker there go elsewhere
    if (actor.node == n && actor.worker < 0) ReleaseActorResources(actor);
  }
  const std::string lost_why = absl::StrCat(why, ", and its object store held the only copy");
  objects_.DropNode(static_cast<uint16_t>(n), [&](const ObjectID& id) {
    return ErrorObject("ray.get", ErrorTypeName(absl::StatusCode::kNotFound),
                       absl::StrCat("object ", id.Hex(), " is lost: ", lost_why), TaskID());
  });
  objects_changed_.SignalAll();
  ServeBlockedWorkers(/*expire=*/false);
}

void Scheduler::AddConnection(int fd) {
  {
    absl::MutexLock lock(&connections_mu_);
    new_connections_.push_back(fd);
  }
  Wake();
}

void Scheduler::NodeUnusable(const std::string& node_id, std::string why) {
  {
    absl::MutexLock lock(&connections_mu_);
    unusable_nodes_.emplace_back(node_id, std::move(why));
  }
  Wake();
}

void Scheduler::AdoptConnections() {
  std::vector<int> fds;
  std::vector<std::pair<std::string, std::string>> unusable;
  {
    absl::MutexLock lock(&connections_mu_);
    fds.swap(new_connections_);
    unusable.swap(unusable_nodes_);
  }
  for (const auto& [id, why] : unusable) {
    if (auto it = node_index_.find(id); it != node_index_.end() && it->second != 0) {
      NodeLost(it->second, absl::StrCat("node ", id, " cannot run this driver's workers: ", why));
    }
  }
  for (int fd : fds) {
    if (!in_cluster_ || stopping_) {
      close(fd);
      continue;
    }
    auto worker = std::make_unique<Worker>();
    worker->node = -1;  // until its first message names its node
    worker->connection = std::make_unique<WorkerConnection>(fd);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = SocketTag(worker.get());
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
    workers_.Add(std::move(worker));
  }
}

void Scheduler::SetWorkerNode(Worker& worker, std::string_view node_id) {
  if (worker.node >= 0) return;  // named already
  auto it = node_index_.find(std::string(node_id));
  if (it == node_index_.end() || it->second == 0 || !nodes_[it->second].alive) {
    worker.node = 0;  // counted nowhere: it dies at once
    WorkerDied(worker, absl::StrCat("a worker of unknown node ", std::string(node_id)));
    return;
  }
  worker.node = it->second;
  Node& node = nodes_[worker.node];
  if (node.starting > 0) --node.starting;
  if (!node.actors_waiting.empty()) ClaimNewWorker(worker);
}

void Scheduler::FillNodeViews() {
  // Each node's room: what is free less what the tasks placed there and not started ask.
  node_views_.resize(nodes_.size());
  custom_room_.resize(nodes_.size());
  for (size_t n = 0; n < nodes_.size(); ++n) {
    const Node& node = nodes_[n];
    NodeView& view = node_views_[n];
    view.usable = node.alive && (n == 0 || node.info.runs_workers());
    view.lost_why = &node.lost_why;
    view.cpus_total = node.info.num_cpus;
    view.cpus_free = node.cpus_free - node.placed_cpus;
    view.custom_total = &node.info.resources;
    custom_room_[n] = node.custom_free;
    for (const auto& [name, amount] : node.placed_custom) custom_room_[n][name] -= amount;
    view.custom_free = &custom_room_[n];
    view.argument_bytes = 0;
  }
}

void Scheduler::PlaceReadyTasks() {
  if (tasks_.ReadySize(0) == 0) return;
  FillNodeViews();
  size_t position = 0;
  size_t waited = 0;
  std::vector<const TaskRecord*> waiting;  // one task per demand that had to wait
  while (position < tasks_.ReadySize(0) && waited < kPlacementScan) {
    TaskRecord* task = tasks_.ReadyAt(position, 0);
    if (task == nullptr) {
      ++position;
      continue;
    }
    if (std::any_of(waiting.begin(), waiting.end(),
                    [&](const TaskRecord* w) { return SameDemand(*w, *task); })) {
      ++position;  // it waits as the one before it did
      ++waited;
      continue;
    }
    for (NodeView& view : node_views_) view.argument_bytes = 0;
    for (const auto& arg : task->args) {
      if (arg.ref.IsNil()) continue;
      const ReferenceTable::Entry* entry = objects_.Find(arg.ref);
      if (entry == nullptr || entry->value != nullptr) continue;
      for (uint16_t n : entry->copies) node_views_[n].argument_bytes += entry->size;
    }
    Placement placement =
        placement_.Place({.cpus = task->num_cpus, .custom = task->resources}, node_views_);
    switch (placement.kind) {
      case Placement::Kind::kNode: {
        Node& node = nodes_[placement.node];
        double cpus = PlacementPolicy::CpusOn(task->num_cpus, node.info.num_cpus);
        node.placed_cpus += cpus;
        node_views_[placement.node].cpus_free -= cpus;
        for (const auto& [name, amount] : task->resources) {
          node.placed_custom[name] += amount;
          custom_room_[placement.node][name] -= amount;
        }
        TaskRecord& placed = tasks_.TakeReady(position, 0);
        tasks_.PushReady(placed.id, placement.node + 1);
        break;
      }
      case Placement::Kind::kWait:
        waiting.push_back(task);
        ++position;
        ++waited;
        // A task asking CPUs only waits for CPUs, and so do those behind it.
        if (task->resources.empty()) waited = kPlacementScan;
        break;
      case Placement::Kind::kInfeasible: {
        if (!InfeasibleForGood(task->infeasible_wait)) {  // waits for the nodes asked for
          waiting.push_back(task);
          ++position;
          ++waited;
          break;
        }
        TaskRecord& failed = tasks_.TakeReady(position, 0);
        FailTask(failed,
                 ErrorObject(NameOf(failed), ErrorTypeName(absl::StatusCode::kInvalidArgument),
                             absl::StrCat("cannot run: ", placement.missing), failed.id));
        ServeBlockedWorkers(/*expire=*/false);
        break;
      }
    }
  }
}

bool Scheduler::InfeasibleForGood(uint32_t& wait) {
  if (!in_cluster_ || !hooks_.refresh_nodes) return true;
  if (wait == 0) {
    // Two updates on: the next one may bring a list the head sent before this was seen.
    wait = node_updates_ + 2;
    hooks_.refresh_nodes();
    return false;
  }
  return node_updates_ >= wait;
}

void Scheduler::FreeRemoteCopies() {
  if (!objects_.HasRemoteDeletes()) return;
  absl::flat_hash_map<int, std::vector<ObjectID>> by_node;
  for (const auto& [node, id] : objects_.TakeRemoteDeletes()) by_node[node].push_back(id);
  for (auto& [node, ids] : by_node) {
    if (nodes_[node].alive && hooks_.free_objects) {
      hooks_.free_objects(nodes_[node].info, std::move(ids));
    }
  }
}

std::string_view Scheduler::SourceFor(const ObjectID& id, int node) const {
  const ReferenceTable::Entry* entry = objects_.Find(id);
  if (entry == nullptr || entry->copies.empty()) return {};
  for (uint16_t n : entry->copies) {
    if (n == node) return {};
  }
  for (uint16_t n : entry->copies) {
    if (nodes_[n].alive) return nodes_[n].info.object_address;
  }
  return {};
}

std::optional<std::string> Scheduler::SourceOf(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  std::string_view source = SourceFor(id, 0);
  if (source.empty()) return std::nullopt;
  return std::string(source);
}

void Scheduler::AddLocalCopy(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  if (!objects_.AddCopy(id, 0)) objects_.QueueStoreDelete(id);  // freed meanwhile
}

std::vector<ClusterNode> Scheduler::KnownNodes() {
  absl::MutexLock lock(&mu_);
  std::vector<ClusterNode> known;
  for (const Node& node : nodes_) {
    known.push_back(node.info);
    known.back().alive = node.alive;
  }
  return known;
}

std::vector<Scheduler::NodeUse> Scheduler::Usage() {
  absl::MutexLock lock(&mu_);
  std::vector<NodeUse> usage;
  for (const Node& node : nodes_) {
    if (!node.alive) continue;
    NodeUse& use = usage.emplace_back();
    use.node_id = node.info.id;
    use.cpus = std::clamp(node.info.num_cpus - node.cpus_free, 0.0, node.info.num_cpus);
    for (const auto& [name, total] : node.info.resources) {
      auto free = node.custom_free.find(name);
      double used = total - (free == node.custom_free.end() ? total : free->second);
      if (used > 1e-9) use.resources[name] = used;
    }
  }
  return usage;
}

void Scheduler::ExpireWorkerStarts() {
  for (Node& node : nodes_) {
    if (node.starting > 0 && absl::Now() - node.starting_since > kWorkerStartTimeout) {
      node.starting = 0;  // ask again
      for (const ObjectID& id : std::exchange(node.actors_waiting, {})) {
        if (auto it = actors_.find(id); it != actors_.end()) it->second.worker_asked = false;
      }
    }
  }
}

}  // namespace ray::core
