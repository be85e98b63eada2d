#include "ray/core_worker/cluster_link.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ray/cluster/local_files.h"
#include "ray/cluster/program_image.h"

namespace ray::core {
namespace {

// How often the driver reads the head's node table (new nodes, dead ones).
absl::Duration NodePollPeriod() {
  const char* ms = std::getenv("RAY_NODE_POLL_MS");
  int value = ms != nullptr ? std::atoi(ms) : 0;
  return value > 0 ? absl::Milliseconds(value) : absl::Milliseconds(500);
}

// This process's arguments, argv[0] first (the workers of other nodes get the same).
std::vector<std::string> CommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  size_t start = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] != '\0') continue;
    argv.push_back(all.substr(start, i - start));
    start = i + 1;
  }
  return argv;
}

// What this program's workers on other nodes get of its environment: PYTHONPATH, each entry
// made absolute (the worker's working directory is the node's), so that ray::PyFunction's
// interpreter finds the same modules there as here; none if it is not set.
std::vector<std::string> DefaultWorkerEnv() {
  const char* python_path = std::getenv("PYTHONPATH");
  if (python_path == nullptr || *python_path == '\0') return {};
  std::error_code error;
  const std::filesystem::path cwd = std::filesystem::current_path(error);
  std::vector<std::string> entries;
  for (absl::string_view entry : absl::StrSplit(python_path, ':')) {
    std::filesystem::path path(entry.empty() ? "." : std::string(entry));
    entries.push_back(path.is_absolute() || error ? path.string()
                                                  : (cwd / path).lexically_normal().string());
  }
  return {absl::StrCat("PYTHONPATH=", absl::StrJoin(entries, ":"))};
}

ClusterNode ToClusterNode(const cluster::NodeEntry& entry) {
  ClusterNode node;
  node.id = entry.node_id;
  node.object_address = entry.object_address;
  node.service_address = entry.service_address;
  node.num_cpus = entry.num_cpus;
  for (const auto& [name, amount] : entry.resources) node.resources[name] = amount;
  node.alive = entry.alive;
  return node;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClusterLink>> ClusterLink::Join(ClusterLinkOptions options,
                                                               cluster::NodeEntry node,
                                                               Scheduler& scheduler) {
  std::unique_ptr<ClusterLink> link(new ClusterLink(scheduler));
  auto client = cluster::HeadClient::Connect(options.address, options.credentials);
  absl::Status status = client.status();
  if (client.ok()) {
    link->head_ = *std::move(client);
    link->credentials_ = options.credentials;
    node.address = link->head_->local_ip();
    auto listener = cluster::ClusterSocketListener::Start(
        {.host = node.address,
         .credentials = link->credentials_,
         .handshake_timeout = cluster::HandshakeTimeoutFromEnv(),
         .what = "worker connection"},
        [&scheduler](int fd) { scheduler.AddConnection(fd); });
    status = listener.status();
    if (listener.ok()) {
      link->workers_ = *std::move(listener);
      link->scheduler_address_ = absl::StrCat(node.address, ":", link->workers_->port());
    }
  }
  if (status.ok()) {
    auto objects = object_manager::ObjectServer::Start({.credentials = link->credentials_,
                                                        .store_socket = options.store_socket,
                                                        .host = node.address});
    status = objects.status();
    if (objects.ok()) {
      link->objects_ = *std::move(objects);
      node.object_address = absl::StrCat(node.address, ":", link->objects_->port());
      link->puller_ = std::make_unique<object_manager::ObjectPuller>(
          scheduler.store(),
          object_manager::ObjectPullerOptions{.credentials = link->credentials_});
    }
  }
  if (status.ok()) {
    ClusterLink* raw = link.get();
    status = link->head_->Join(
        node, {.heartbeat_period = cluster::HealthFromEnv().period,
               .store_used = std::move(options.store_used),
               .usage =
                   [&scheduler] {
                     std::vector<cluster::NodeUsage> usage;
                     for (Scheduler::NodeUse& use : scheduler.Usage()) {
                       usage.push_back({.node_id = std::move(use.node_id), .cpus = use.cpus});
                       usage.back().resources.insert(use.resources.begin(), use.resources.end());
                     }
                     return usage;
                   },
               .on_lost =
                   [raw](const std::string& why) {
                     fprintf(stderr, "ray: lost the link to the cluster head: %s\n", why.c_str());
                     absl::MutexLock lock(&raw->mu_);
                     raw->head_lost_ = why;
                   }});
  }
  if (status.ok()) {
    // The nodes run this program's tasks from its own files, shipped through the head.
    absl::StatusOr<cluster::ProgramImage> image = cluster::CurrentProgram();
    status = image.ok() ? link->head_->UploadProgram(*image) : image.status();
    if (status.ok()) {
      link->program_key_ = image->key;
      link->host_key_ = image->host_key;
    } else {
      status = absl::Status(status.code(), absl::StrCat("cannot ship this program to the cluster: ",
                                                        status.message()));
    }
  }
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("cannot join the cluster at ", options.address,
                                                    ": ", status.message()));
  }
  link->job_ = options.job;
  const bool own_program = options.worker_argv.empty();
  link->argv_ = own_program ? CommandLine() : std::move(options.worker_argv);
  link->env_ = own_program && options.worker_env.empty() ? DefaultWorkerEnv()
                                                         : std::move(options.worker_env);
  link->nodes_ = std::make_unique<cluster::NodeClients>(link->credentials_, options.job);
  ClusterLink* raw = link.get();
  scheduler.JoinCluster(ToClusterNode(node),
                        {.start_workers =
                             [raw](const ClusterNode& target, int count) {
                               raw->nodes_->StartWorkers(
                                   target.service_address,
                                   {.scheduler = raw->scheduler_address_,
                                    .program_key = raw->program_key_,
                                    .argv = raw->argv_,
                                    .env = raw->env_,
                                    .count = count},
                                   [raw, id = target.id](const std::string& error) {
                                     if (!error.empty()) raw->scheduler_.NodeUnusable(id, error);
                                   });
                             },
                         .free_objects =
                             [raw](const ClusterNode& target, std::vector<ObjectID> ids) {
                               raw->nodes_->FreeObjects(target.service_address, std::move(ids));
                             },
                         .refresh_nodes =
                             [raw] {
                               absl::MutexLock lock(&raw->mu_);
                               raw->poll_now_ = true;  // the poller wakes for it
                             }});
  raw->PollNodes();  // the nodes there are now, before Init returns
  link->poller_ = std::thread([raw] {
    absl::Duration period = NodePollPeriod();
    while (true) {
      {
        absl::MutexLock lock(&raw->mu_);
        auto woken = [raw]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(raw->mu_) {
          return raw->stopping_ || raw->poll_now_;
        };
        raw->mu_.AwaitWithTimeout(absl::Condition(&woken), period);
        if (raw->stopping_) return;
        raw->poll_now_ = false;
      }
      raw->PollNodes();
    }
  });
  return link;
}

std::vector<absl::Status> ClusterLink::CopyHere(
    std::span<const object_manager::ObjectSource> objects, object_manager::PullPriority priority,
    absl::Time deadline) {
  std::vector<absl::Status> pulled = puller_->PullAll(objects, priority, deadline);
  for (size_t i = 0; i < objects.size(); ++i) {
    if (pulled[i].ok()) scheduler_.AddLocalCopy(objects[i].id);
  }
  return pulled;
}

absl::StatusOr<cluster::ActorHostAddress> ClusterLink::ActorHost(bool start) {
  return head_->ActorHost(program_key_, host_key_, argv_, env_, start);
}

absl::Status ClusterLink::RegisterAsActorHost(const std::string& host_key) {
  return head_->RegisterActorHost(host_key, {.address = scheduler_address_, .job = job_});
}

std::string ClusterLink::AwaitHeadLost() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](std::optional<std::string>* lost) { return lost->has_value(); }, &head_lost_));
  return *head_lost_;
}

void ClusterLink::PollNodes() {
  auto nodes = head_->Nodes();
  if (!nodes.ok()) return;  // the head is gone: the head client says so
  std::vector<ClusterNode> known;
  for (const cluster::NodeEntry& entry : *nodes) known.push_back(ToClusterNode(entry));
  scheduler_.UpdateNodes(std::move(known));
}

ClusterLink::~ClusterLink() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (poller_.joinable()) poller_.join();
  scheduler_.LeaveCluster();
  workers_.reset();
  puller_.reset();
  objects_.reset();
  nodes_.reset();
  head_.reset();
}

}  // namespace ray::core
