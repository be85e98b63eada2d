// The runtime of a driver: makes the session (a private folder with the sockets and logs),
// forks the zygote, the store and the workers, and runs the scheduler threads in this process;
// given an address, registers the node with that cluster's head (cluster_link.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/cluster/node_table.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/session_options.h"
#include "ray/store/client.h"

namespace ray::core {

class ClusterLink;

class DriverRuntime : public CoreRuntime {
 public:
  // Starts the node (options.local_mode is not its business: see session.h). Call before the
  // program starts threads of its own (the zygote is forked first, and a fork copies only the
  // calling thread).
  static absl::StatusOr<std::unique_ptr<DriverRuntime>> Start(const SessionOptions& options);

  virtual const std::string& session_dir() const = 0;
  virtual pid_t store_pid() const = 0;
  virtual pid_t zygote_pid() const = 0;
  virtual std::vector<pid_t> worker_pids() = 0;
  // The node's CPUs: all of them, and those no running task holds.
  virtual double num_cpus() const = 0;
  virtual double free_cpus() = 0;
  // What the node's store holds now (objects, bytes).
  virtual absl::StatusOr<store::StoreClientStats> store_stats() = 0;
  // The cluster's nodes, from its head; without one (no address), this node alone.
  virtual absl::StatusOr<std::vector<cluster::NodeEntry>> Nodes() = 0;
  // The node's link to its cluster (cluster_link.h); null without an address.
  virtual ClusterLink* cluster() = 0;
};

}  // namespace ray::core
