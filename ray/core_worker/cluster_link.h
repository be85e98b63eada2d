// A driver's node in a cluster: registered with the head at Init (heartbeating while the session
// lasts, held dead by the head when it ends), and its scheduler linked to the other nodes: the
// node table polled from the head, workers on other nodes asked of them (NodeClients) and
// accepted back over TCP with the cluster token, objects copied from their stores, and the
// driver's program uploaded for them to run.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ray/cluster/cluster_socket.h"
#include "ray/cluster/head_client.h"
#include "ray/cluster/node_service.h"
#include "ray/node/scheduler.h"
#include "ray/object_manager/object_puller.h"
#include "ray/object_manager/object_server.h"

namespace ray::core {

// Where and how a driver joins (ClusterLink::Join).
struct ClusterLinkOptions {
  std::string address;               // the head's HOST:PORT (ResolveAddress of what the user gave)
  cluster::Credentials credentials;  // the cluster's token (FindToken), TLS from the env
  uint32_t job = 0;  // the driver's (ray/common/id.h): nodes drop its objects when it is gone
  std::string store_socket;  // this node's store, which its object server serves to the others
  std::function<uint64_t()> store_used;  // for heartbeats
  // How nodes start the driver's workers (SessionOptions::remote_worker_argv/env).
  std::vector<std::string> worker_argv;
  std::vector<std::string> worker_env;
};

class ClusterLink {
 public:
  // Joins the cluster as `node`, whose address is set to this machine's as the head sees it,
  // and links `scheduler` (which must outlive the link) to it. Errors name the address: an
  // unreachable head, a refused token or node.
  static absl::StatusOr<std::unique_ptr<ClusterLink>> Join(ClusterLinkOptions options,
                                                           cluster::NodeEntry node,
                                                           Scheduler& scheduler);
  // Leaves: no more polling, no more workers accepted; the head holds the node dead.
  ~ClusterLink();

  // The head's node table.
  absl::StatusOr<std::vector<cluster::NodeEntry>> Nodes() { return head_->Nodes(); }
  // Copies each of `objects` into this node's store, side by side, and tells the scheduler of
  // each copy made (it deletes the copy with the object). A status for each.
  std::vector<absl::Status> CopyHere(std::span<const object_manager::ObjectSource> objects,
                                     object_manager::PullPriority priority, absl::Time deadline);

  // The live actor host of this program (actor_host.h), which the head starts on its node (with
  // this driver's program, arguments and environment for workers) if it has none and `start`.
  // Blocks until the host registered (seconds; up to the node's ready timeout when it cannot
  // start): call it from an API thread, never under the scheduler's lock. NotFound if there is
  // none and not `start`; Unavailable with why there is none.
  absl::StatusOr<cluster::ActorHostAddress> ActorHost(bool start = true);
  // Registers this driver at the head as the actor host of `host_key` (its scheduler's address
  // and job); the head forgets it when this node is dead.
  absl::Status RegisterAsActorHost(const std::string& host_key);
  // Blocks until the head is lost (its connection ended, a heartbeat refused or unanswered);
  // returns why.
  std::string AwaitHeadLost();
  // What every connection of the cluster opens with (the token, TLS).
  const cluster::Credentials& credentials() const { return credentials_; }

 private:
  ClusterLink(Scheduler& scheduler) : scheduler_(scheduler) {}
  void PollNodes();

  Scheduler& scheduler_;
  cluster::Credentials credentials_;
  std::string program_key_;
  std::string host_key_;           // names its actor host (ProgramImage::host_key)
  std::vector<std::string> argv_;  // of the workers other nodes start
  std::vector<std::string> env_;
  std::unique_ptr<cluster::HeadClient> head_;
  std::unique_ptr<cluster::ClusterSocketListener> workers_;
  std::unique_ptr<cluster::NodeClients> nodes_;
  std::unique_ptr<object_manager::ObjectServer> objects_;
  std::unique_ptr<object_manager::ObjectPuller> puller_;
  std::string scheduler_address_;  // where workers of other nodes connect
  uint32_t job_ = 0;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool poll_now_ ABSL_GUARDED_BY(mu_) = false;  // the scheduler asked for the nodes now
  std::optional<std::string> head_lost_ ABSL_GUARDED_BY(mu_);  // why, once lost
  std::thread poller_;
};

}  // namespace ray::core
