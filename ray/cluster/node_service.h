// A node's service (node.capnp) for the drivers of its cluster, both ends: NodeServer on each
// node, serving on the node's KJ event loop to connections that present the cluster token; and
// NodeClients in a driver, which calls the nodes from a thread of its own without blocking its
// caller (the scheduler, under its lock).
#pragma once

#include <kj/async-io.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/cluster/cluster_stream.h"
#include "ray/common/id.h"

namespace ray::cluster {

// Workers a scheduler asks of a node (node.capnp, startWorkers), or the head's actor host.
struct WorkerStartRequest {
  std::string scheduler;    // HOST:PORT where they connect (a host: the head it joins)
  std::string program_key;  // the program's files at the head (program_image.h)
  std::vector<std::string> argv;
  std::vector<std::string> env;  // "NAME=value", added to the node's environment
  int count = 1;
  uint32_t job = 0;  // the driver's (ray/common/id.h); 0 for a host
  // An actor host (ClusterHead.actorHost, ray/core_worker/actor_host.h) instead of workers: one
  // process in host mode, of no driver's job (no driver's end stops it), living with the node.
  bool host = false;
  std::string host_key;  // a host's: the key it registers under (ClusterHead.actorHost's hostKey)
};

struct NodeServiceHandlers {
  // Starts the workers; resolves to "" or why it could not.
  std::function<kj::Promise<std::string>(WorkerStartRequest)> start_workers;
  std::function<void(std::vector<ObjectID>)> free_objects;
  // The driver of `job` is gone (its session ended): its objects and workers go.
  std::function<void(uint32_t job)> driver_gone;
};

class NodeServer {
 public:
  NodeServer(kj::AsyncIoContext& io, Credentials credentials, absl::Duration handshake_timeout,
             NodeServiceHandlers handlers);
  ~NodeServer();
  // Binds `host`:`port` (0: any free port); returns the port.
  absl::StatusOr<int> Listen(const std::string& host, int port);
  // Serves until the promise is dropped.
  kj::Promise<void> Run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class NodeClients {
 public:
  // A driver's clients: each node it reaches holds a session of `job` while it is connected.
  NodeClients(Credentials credentials, uint32_t job);
  ~NodeClients();  // drops the connections; calls not sent yet are dropped

  // Asks the node serving at `address`; `done` gets "" or why it failed (on the clients' thread).
  void StartWorkers(const std::string& address, WorkerStartRequest request,
                    std::function<void(const std::string& error)> done);
  void FreeObjects(const std::string& address, std::vector<ObjectID> ids);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace ray::cluster
