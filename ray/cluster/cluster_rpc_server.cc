#include "ray/cluster/cluster_rpc_server.h"

#include <kj/debug.h>

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace ray::cluster {

ClusterRpcServer::ClusterRpcServer(kj::AsyncIoContext& io, capnp::Capability::Client bootstrap,
                                   Credentials credentials, absl::Duration handshake_timeout,
                                   std::string log_prefix)
    : io_(io),
      rpc_(kj::mv(bootstrap)),
      credentials_(std::move(credentials)),
      handshake_timeout_(handshake_timeout),
      log_prefix_(std::move(log_prefix)) {}

void ClusterRpcServer::Log(const std::string& line) const {
  fprintf(stderr, "%s: %s\n", log_prefix_.c_str(), line.c_str());
}

void ClusterRpcServer::taskFailed(kj::Exception&& e) {
  KJ_LOG(WARNING, "cluster connection failed", e.getDescription());
}

absl::StatusOr<int> ClusterRpcServer::Listen(const std::string& host, int port) {
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 auto address = io_.provider->getNetwork()
                                    .parseAddress(host, static_cast<kj::uint>(port))
                                    .wait(io_.waitScope);
                 listener_ = address->listen();
               })) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", host, ":", port, ": ", e->getDescription().cStr()));
  }
  return static_cast<int>(listener_->getPort());
}

kj::Promise<void> ClusterRpcServer::Run() {
  KJ_REQUIRE(listener_.get() != nullptr, "Listen() first");
  return AcceptLoop();
}

kj::Promise<void> ClusterRpcServer::AcceptLoop() {
  return listener_->accept().then([this](kj::Own<kj::AsyncIoStream>&& stream) {
    Serve(kj::mv(stream));
    return AcceptLoop();
  });
}

void ClusterRpcServer::Serve(kj::Own<kj::AsyncIoStream> stream) {
  auto opened = AcceptCluster(io_.provider->getTimer(), kj::mv(stream), credentials_,
                              handshake_timeout_, [this](const std::string& line) { Log(line); });
  handshakes_.add(opened.then([this](kj::Maybe<kj::Own<kj::AsyncIoStream>> accepted) {
    KJ_IF_MAYBE (s, accepted) {
      rpc_.accept(kj::mv(*s));
    }
  }));
}

}  // namespace ray::cluster
