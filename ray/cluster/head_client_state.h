// What a HeadClient holds (head_client.cc, head_client_programs.cc): its thread, and the
// connection that lives on that thread's KJ event loop.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <cstdio>
#include <string>

#include "ray/cluster/head_client.h"
#include "ray/common/event_loop_thread.h"
#include "ray/rpc/cluster.capnp.h"

namespace ray::cluster {

using rpc::cluster::ClusterHead;
using rpc::cluster::NodeSession;

// Everything but `thread` and `executor` belongs to the client's thread.
struct HeadClient::State : public kj::TaskSet::ErrorHandler {
  void taskFailed(kj::Exception&& e) override {
    fprintf(stderr, "ray: lost the link to the cluster head: %s\n", e.getDescription().cStr());
  }
  kj::Promise<void> Heartbeats();
  kj::Promise<void> WatchHead();

  kj::AsyncIoContext* io = nullptr;
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> rpc;
  ClusterHead::Client head = nullptr;
  NodeSession::Client session = nullptr;
  bool joined = false;  // `session` is the node's
  kj::Own<kj::TaskSet> tasks;
  std::string local_ip;
  JoinOptions join;
  std::unique_ptr<EventLoopThread> loop;  // last: stopped first
};

}  // namespace ray::cluster
