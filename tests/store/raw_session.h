// A store session spoken directly in the wire protocol, without StoreClient: for requests the
// client library never sends (sealing twice, touching another client's object, sizes it
// rejects itself) and for deciding exactly which requests are in flight.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <string_view>

#include "ray/common/id.h"
#include "ray/store/store.capnp.h"
#include "ray/store/wire.h"

namespace ray::testing {

// A connected unix socket to `path`, or -1.
inline int ConnectRawSocket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return -1;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Owns a KJ event loop: at most one per thread at a time.
class RawSession {
 public:
  explicit RawSession(const std::string& socket_path) : io_(kj::setupAsyncIo()) {
    int fd = ConnectRawSocket(socket_path);
    KJ_REQUIRE(fd >= 0, "cannot connect", socket_path);
    stream_ = io_.lowLevelProvider->wrapUnixSocketFd(
        fd,
        kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP | kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
    rpc_ = kj::heap<capnp::TwoPartyClient>(*stream_, /*maxFdsPerMessage=*/3);
    auto request = rpc_->bootstrap().castAs<store::rpc::ObjectStore>().connectRequest();
    request.setClientName("raw");
    session_ = request.send().getSession();
  }

  store::rpc::Session::Client& session() { return session_; }
  kj::WaitScope& wait_scope() { return io_.waitScope; }

  static capnp::Data::Reader Id(const ObjectID& id) { return ray::AsData(id.Binary()); }

 private:
  kj::AsyncIoContext io_;
  kj::Own<kj::AsyncCapabilityStream> stream_;
  kj::Own<capnp::TwoPartyClient> rpc_;
  store::rpc::Session::Client session_ = nullptr;
};

}  // namespace ray::testing
