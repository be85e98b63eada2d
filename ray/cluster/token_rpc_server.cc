#include "ray/cluster/token_rpc_server.h"

#include <arpa/inet.h>
#include <kj/debug.h>
#include <netinet/in.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "ray/cluster/handshake.h"

namespace ray::cluster {

TokenRpcServer::TokenRpcServer(kj::AsyncIoContext& io, capnp::Capability::Client bootstrap,
                               std::string token, absl::Duration handshake_timeout,
                               std::string log_prefix)
    : io_(io),
      rpc_(kj::mv(bootstrap)),
      token_(std::move(token)),
      handshake_timeout_(handshake_timeout),
      log_prefix_(std::move(log_prefix)) {}

void TokenRpcServer::Log(const std::string& line) const {
  fprintf(stderr, "%s: %s\n", log_prefix_.c_str(), line.c_str());
}

void TokenRpcServer::taskFailed(kj::Exception&& e) {
  KJ_LOG(WARNING, "cluster connection failed", e.getDescription());
}

absl::StatusOr<int> TokenRpcServer::Listen(const std::string& host, int port) {
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

kj::Promise<void> TokenRpcServer::Run() {
  KJ_REQUIRE(listener_.get() != nullptr, "Listen() first");
  return AcceptLoop();
}

kj::Promise<void> TokenRpcServer::AcceptLoop() {
  return listener_->accept().then([this](kj::Own<kj::AsyncIoStream>&& stream) {
    Serve(kj::mv(stream));
    return AcceptLoop();
  });
}

void TokenRpcServer::Serve(kj::Own<kj::AsyncIoStream> stream) {
  std::string peer = PeerName(*stream);
  auto check = io_.provider->getTimer().timeoutAfter(
      absl::ToInt64Nanoseconds(handshake_timeout_) * kj::NANOSECONDS, AcceptToken(*stream, token_));
  auto checked = check.catch_([](kj::Exception&& e) {
    return std::string(e.getType() == kj::Exception::Type::OVERLOADED
                           ? "no cluster token in time"
                           : "the connection failed before presenting a token");
  });
  handshakes_.add(checked.then([this, peer, stream = kj::mv(stream)](std::string refusal) mutable {
    if (!refusal.empty()) {
      Log(absl::StrCat("closed the connection from ", peer, ": ", refusal));
      return;  // dropping the stream closes it
    }
    rpc_.accept(kj::mv(stream));
  }));
}

}  // namespace ray::cluster
