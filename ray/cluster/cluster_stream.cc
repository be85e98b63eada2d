#include "ray/cluster/cluster_stream.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ray/cluster/handshake.h"

namespace ray::cluster {
namespace {

kj::Duration ToKj(absl::Duration d) { return absl::ToInt64Nanoseconds(d) * kj::NANOSECONDS; }

// A stream whose first byte was already read (to tell a TLS client from a plain one): reads
// return that byte first, everything else goes to the stream.
class ReplayedByteStream final : public kj::AsyncIoStream {
 public:
  ReplayedByteStream(kj::byte first, kj::Own<kj::AsyncIoStream> inner)
      : first_(first), inner_(kj::mv(inner)) {}

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override {
    if (!replayed_ && max_bytes > 0) {
      replayed_ = true;
      *static_cast<kj::byte*>(buffer) = first_;
      if (min_bytes <= 1) return size_t{1};
      return inner_->tryRead(static_cast<kj::byte*>(buffer) + 1, min_bytes - 1, max_bytes - 1)
          .then([](size_t n) { return n + 1; });
    }
    return inner_->tryRead(buffer, min_bytes, max_bytes);
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  void abortRead() override { inner_->abortRead(); }
  kj::Maybe<int> getFd() const override { return inner_->getFd(); }
  void getsockname(struct sockaddr* addr, kj::uint* length) override {
    inner_->getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, kj::uint* length) override {
    inner_->getpeername(addr, length);
  }

 private:
  const kj::byte first_;
  bool replayed_ = false;
  kj::Own<kj::AsyncIoStream> inner_;
};

// A connection being opened on the server's end: the stream so far, or why it is refused.
using Opening = std::pair<kj::Own<kj::AsyncIoStream>, std::string>;

Opening Refused(std::string why) { return Opening(kj::Own<kj::AsyncIoStream>(), std::move(why)); }

kj::Promise<Opening> TlsServerEnd(const ClusterTls& tls, kj::Own<kj::AsyncIoStream> stream) {
  auto first = kj::heapArray<kj::byte>(1);
  auto read = stream->tryRead(first.begin(), 1, 1);
  return read.then([&tls, first = kj::mv(first),
                    stream = kj::mv(stream)](size_t n) mutable -> kj::Promise<Opening> {
    if (n == 0) return Refused("closed before presenting a token");
    if (first[0] == kGreetingFirstByte) {
      // A client without TLS: say so (it reports it) before closing.
      return stream->write(&kTlsRequired, 1).attach(kj::mv(stream)).then([] {
        return Refused("a client without TLS (this cluster uses TLS)");
      });
    }
    return tls.WrapServer(kj::heap<ReplayedByteStream>(first[0], kj::mv(stream)))
        .then(
            [](kj::Own<kj::AsyncIoStream> s) { return Opening(kj::mv(s), ""); },
            [](kj::Exception&& e) {
              return Refused(absl::StrCat("the TLS handshake failed: ", e.getDescription().cStr()));
            });
  });
}

}  // namespace

absl::StatusOr<Credentials> CredentialsFromEnv(std::string token) {
  Credentials credentials{.token = std::move(token)};
  auto files = TlsFilesFromEnv();
  if (!files.ok()) return files.status();
  if (files->has_value()) {
    auto tls = ClusterTls::Load(**files);
    if (!tls.ok()) return tls.status();
    credentials.tls = *std::move(tls);
  }
  return credentials;
}

kj::Promise<absl::StatusOr<kj::Own<kj::AsyncIoStream>>> ConnectCluster(
    kj::AsyncIoProvider& io, const std::string& address, const Credentials& credentials,
    absl::Duration timeout, const std::string& what) {
  using Result = absl::StatusOr<kj::Own<kj::AsyncIoStream>>;
  const std::string where = absl::StrCat(what, " at ", address);
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port <= 0 || port > 65535) {
    return Result(absl::InvalidArgumentError(absl::StrCat("not HOST:PORT: ", address)));
  }
  const std::string host = address.substr(0, colon);
  std::shared_ptr<const ClusterTls> tls = credentials.tls;
  auto connected = io.getNetwork()
                       .parseAddress(host, static_cast<kj::uint>(port))
                       .then([](kj::Own<kj::NetworkAddress> server) {
                         return server->connect().attach(kj::mv(server));
                       });
  // Each step resolves to the stream so far or to why the connection failed.
  auto secured = connected.then(
      [tls, host, where](kj::Own<kj::AsyncIoStream> stream) -> kj::Promise<Result> {
        if (tls == nullptr) return Result(kj::mv(stream));
        return tls->WrapClient(kj::mv(stream), host)
            .then([](kj::Own<kj::AsyncIoStream> s) { return Result(kj::mv(s)); },
                  [where](kj::Exception&& e) {
                    return Result(absl::PermissionDeniedError(
                        absl::StrCat("the TLS handshake with ", where,
                                     " failed (is TLS on at both ends, with "
                                     "certificates from one CA?): ",
                                     e.getDescription().cStr())));
                  })
            .attach(kj::mv(tls));
      },
      [where](kj::Exception&& e) {
        return Result(absl::UnavailableError(
            absl::StrCat("cannot reach ", where, ": ", e.getDescription().cStr())));
      });
  auto opened = secured.then(
      [token = credentials.token, where](Result stream) mutable -> kj::Promise<Result> {
        if (!stream.ok()) return kj::mv(stream);
        kj::AsyncIoStream& raw = **stream;
        return PresentToken(raw, token)
            .then(
                [stream = *std::move(stream), where](TokenAnswer answer) mutable -> Result {
                  switch (answer) {
                    case TokenAnswer::kAccepted:
                      return kj::mv(stream);
                    case TokenAnswer::kTlsRequired:
                      return absl::PermissionDeniedError(
                          absl::StrCat(where,
                                       " requires TLS: set RAY_USE_TLS=1, RAY_TLS_SERVER_CERT, "
                                       "RAY_TLS_SERVER_KEY and RAY_TLS_CA_CERT"));
                    case TokenAnswer::kRefused:
                      break;
                  }
                  return absl::PermissionDeniedError(
                      absl::StrCat(where, " refused the cluster token (RAY_AUTH_TOKEN)"));
                },
                [where](kj::Exception&& e) {
                  return Result(absl::UnavailableError(absl::StrCat(
                      "the connection to ", where, " failed: ", e.getDescription().cStr())));
                });
      });
  return io.getTimer()
      .timeoutAfter(ToKj(timeout), kj::mv(opened))
      .catch_([where, timeout](kj::Exception&&) {
        return Result(absl::UnavailableError(
            absl::StrCat("cannot reach ", where, " within ", absl::FormatDuration(timeout))));
      });
}

kj::Promise<kj::Maybe<kj::Own<kj::AsyncIoStream>>> AcceptCluster(
    kj::Timer& timer, kj::Own<kj::AsyncIoStream> stream, const Credentials& credentials,
    absl::Duration timeout, std::function<void(const std::string&)> log) {
  std::string peer = PeerName(*stream);
  kj::Promise<Opening> secured =
      credentials.tls == nullptr ? kj::Promise<Opening>(Opening(kj::mv(stream), ""))
                                 : TlsServerEnd(*credentials.tls, kj::mv(stream))
                                       .attach(std::shared_ptr<const ClusterTls>(credentials.tls));
  auto checked =
      secured.then([token = credentials.token](Opening opening) mutable -> kj::Promise<Opening> {
        if (!opening.second.empty()) return kj::mv(opening);
        kj::AsyncIoStream& raw = *opening.first;
        return AcceptToken(raw, std::move(token))
            .then([stream = kj::mv(opening.first)](std::string refusal) mutable {
              return Opening(kj::mv(stream), std::move(refusal));
            });
      });
  auto bounded = timer.timeoutAfter(ToKj(timeout), kj::mv(checked)).catch_([](kj::Exception&& e) {
    return Refused(e.getType() == kj::Exception::Type::OVERLOADED
                       ? "no cluster token in time"
                       : "the connection failed before presenting a token");
  });
  return bounded.then(
      [peer, log = std::move(log)](Opening opening) -> kj::Maybe<kj::Own<kj::AsyncIoStream>> {
        if (!opening.second.empty()) {
          log(absl::StrCat("closed the connection from ", peer, ": ", opening.second));
          return nullptr;  // dropping the stream closes it
        }
        return kj::mv(opening.first);
      });
}

}  // namespace ray::cluster
