#include "ray/cluster/cluster_socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ray/common/event_loop_thread.h"

namespace ray::cluster {

// The KJ loop thread that opens cluster connections for file-descriptor protocols and, with
// TLS, moves their bytes between the TLS connection and the socket handed over.
class SocketLoop final : private kj::TaskSet::ErrorHandler {
 public:
  SocketLoop()
      : thread_(std::make_unique<EventLoopThread>(
            [this](kj::AsyncIoContext& io) {
              io_ = &io;
              tasks_ = kj::heap<kj::TaskSet>(static_cast<kj::TaskSet::ErrorHandler&>(*this));
            },
            [this] {
              tasks_ = nullptr;
              receiver_ = nullptr;
            })) {}

  template <typename Func>
  auto Run(Func&& func) {
    return thread_->executor().executeSync(std::forward<Func>(func));
  }
  kj::AsyncIoContext& io() { return *io_; }
  kj::TaskSet& tasks() { return *tasks_; }

  // The socket the protocol runs on, in the clear: the stream's own (`encrypted` false), or one
  // end of a socketpair whose bytes this loop moves to and from the TLS stream. -1 on failure.
  int Hand(kj::Own<kj::AsyncIoStream> stream, bool encrypted) {
    if (!encrypted) {
      int fd = -1;
      KJ_IF_MAYBE (own, stream->getFd()) {
        fd = fcntl(*own, F_DUPFD_CLOEXEC, 0);
      }
      if (fd < 0) return -1;
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return fd;  // the stream closes its own descriptor
    }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return -1;
    auto plain = io_->lowLevelProvider->wrapSocketFd(
        pair[0],
        kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP | kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
    tasks_->add(Splice(kj::mv(stream), kj::mv(plain)));
    return pair[1];
  }

  kj::Own<kj::ConnectionReceiver> receiver_;  // a listener's

 private:
  // Until both directions have ended (each end's close reaches the other), or either fails.
  static kj::Promise<void> Splice(kj::Own<kj::AsyncIoStream> secured,
                                  kj::Own<kj::AsyncIoStream> plain) {
    auto failed = kj::newPromiseAndFulfiller<void>();
    kj::PromiseFulfiller<void>& fail = *failed.fulfiller;
    auto direction = [&fail](kj::AsyncIoStream& from, kj::AsyncIoStream& to) {
      return from.pumpTo(to)
          .then([&to](uint64_t) { to.shutdownWrite(); })
          .catch_([&fail](kj::Exception&&) { fail.fulfill(); });
    };
    auto both = kj::heapArrayBuilder<kj::Promise<void>>(2);
    both.add(direction(*secured, *plain));
    both.add(direction(*plain, *secured));
    return kj::joinPromises(both.finish())
        .exclusiveJoin(kj::mv(failed.promise))
        .attach(kj::mv(secured), kj::mv(plain), kj::mv(failed.fulfiller));
  }

  void taskFailed(kj::Exception&&) override {}  // a connection's end

  kj::AsyncIoContext* io_ = nullptr;
  kj::Own<kj::TaskSet> tasks_;
  std::unique_ptr<EventLoopThread> thread_;  // last: stopped first
};

absl::StatusOr<int> ConnectClusterSocket(const std::string& address, const Credentials& credentials,
                                         absl::Duration timeout) {
  static SocketLoop* const loop = new SocketLoop;  // for the process's lifetime
  const bool encrypted = credentials.tls != nullptr;
  return loop->Run([&]() -> kj::Promise<absl::StatusOr<int>> {
    return ConnectCluster(*loop->io().provider, address, credentials, timeout, "the scheduler")
        .then(
            [encrypted](absl::StatusOr<kj::Own<kj::AsyncIoStream>> stream) -> absl::StatusOr<int> {
              if (!stream.ok()) return stream.status();
              int fd = loop->Hand(*std::move(stream), encrypted);
              if (fd < 0)
                return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
              return fd;
            });
  });
}

namespace {

kj::Promise<void> AcceptLoop(SocketLoop& loop, const ClusterSocketListener::Options& options,
                             const std::function<void(int)>& on_connection) {
  auto log = [&options](const std::string& line) {
    fprintf(stderr, "ray %s listener: %s\n", options.what.c_str(), line.c_str());
  };
  return loop.receiver_->accept().then(
      [&, log](kj::Own<kj::AsyncIoStream> stream) {
        auto opened = AcceptCluster(loop.io().provider->getTimer(), kj::mv(stream),
                                    options.credentials, options.handshake_timeout, log);
        loop.tasks().add(opened.then([&](kj::Maybe<kj::Own<kj::AsyncIoStream>> accepted) {
          KJ_IF_MAYBE (s, accepted) {
            int fd = loop.Hand(kj::mv(*s), options.credentials.tls != nullptr);
            if (fd >= 0) on_connection(fd);
          }
        }));
        return AcceptLoop(loop, options, on_connection);
      },
      [&, log](kj::Exception&& e) {
        // Out of descriptors, say: back off and try again rather than stop serving.
        log(absl::StrCat("accept failed: ", e.getDescription().cStr()));
        return loop.io().provider->getTimer().afterDelay(100 * kj::MILLISECONDS).then([&] {
          return AcceptLoop(loop, options, on_connection);
        });
      });
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClusterSocketListener>> ClusterSocketListener::Start(
    Options options, std::function<void(int fd)> on_connection) {
  std::unique_ptr<ClusterSocketListener> listener(new ClusterSocketListener);
  listener->options_ = std::move(options);
  listener->on_connection_ = std::move(on_connection);
  listener->loop_ = std::make_unique<SocketLoop>();
  SocketLoop& loop = *listener->loop_;
  const Options& o = listener->options_;
  absl::StatusOr<int> port = loop.Run([&]() -> kj::Promise<absl::StatusOr<int>> {
    return loop.io()
        .provider->getNetwork()
        .parseAddress(o.host, static_cast<kj::uint>(o.port))
        .then(
            [&](kj::Own<kj::NetworkAddress> address) -> absl::StatusOr<int> {
              loop.receiver_ = address->listen();
              loop.tasks().add(AcceptLoop(loop, o, listener->on_connection_));
              return static_cast<int>(loop.receiver_->getPort());
            },
            [&](kj::Exception&& e) -> absl::StatusOr<int> {
              return absl::UnavailableError(absl::StrCat("cannot listen on ", o.host, ":", o.port,
                                                         ": ", e.getDescription().cStr()));
            });
  });
  if (!port.ok()) return port.status();
  listener->port_ = *port;
  return listener;
}

ClusterSocketListener::~ClusterSocketListener() { loop_.reset(); }

}  // namespace ray::cluster
