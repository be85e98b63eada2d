#include "ray/cluster/head_client.h"

#include <arpa/inet.h>
#include <kj/debug.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "ray/cluster/cluster_stream.h"
#include "ray/cluster/head_client_state.h"
#include "ray/cluster/node_info.h"

namespace ray::cluster {

namespace {

std::string LocalIp(kj::AsyncIoStream& stream) {
  sockaddr_storage address{};
  kj::uint length = sizeof(address);
  char ip[INET6_ADDRSTRLEN] = "";
  stream.getsockname(reinterpret_cast<sockaddr*>(&address), &length);
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&address)->sin_addr, ip, sizeof(ip));
  } else if (address.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&address)->sin6_addr, ip, sizeof(ip));
  }
  return ip;
}

}  // namespace

kj::Promise<void> HeadClient::State::Heartbeats() {
  auto delay = absl::ToInt64Nanoseconds(join.heartbeat_period) * kj::NANOSECONDS;
  return io->provider->getTimer().afterDelay(delay).then([this] {
    auto request = session.heartbeatRequest();
    request.setStoreUsedBytes(join.store_used ? join.store_used() : 0);
    if (join.usage) {
      std::vector<NodeUsage> usage = join.usage();
      auto list = request.initUsage(usage.size());
      for (size_t i = 0; i < usage.size(); ++i) FillNodeUsage(usage[i], list[i]);
    }
    auto limit = absl::ToInt64Nanoseconds(join.lost_after) * kj::NANOSECONDS;
    auto unanswered =
        io->provider->getTimer().afterDelay(limit).then([this]() -> kj::Promise<void> {
          return KJ_EXCEPTION(DISCONNECTED, absl::StrCat("no answer to a heartbeat for ",
                                                         absl::FormatDuration(join.lost_after)));
        });
    return request.send().ignoreResult().exclusiveJoin(kj::mv(unanswered)).then([this] {
      return Heartbeats();
    });
  });
}

// Ends when the head is lost, and says why (once).
kj::Promise<void> HeadClient::State::WatchHead() {
  auto ended = rpc->onDisconnect().then([]() -> kj::Promise<void> {
    return KJ_EXCEPTION(DISCONNECTED, "the connection to the head ended");
  });
  return Heartbeats().exclusiveJoin(kj::mv(ended)).catch_([this](kj::Exception&& e) {
    std::string why = e.getDescription().cStr();
    if (join.on_lost) {
      join.on_lost(why);
    } else {
      fprintf(stderr, "ray: lost the link to the cluster head: %s\n", why.c_str());
    }
  });
}

HeadClient::HeadClient() : state_(std::make_unique<State>()) {
  State* s = state_.get();
  s->loop = std::make_unique<EventLoopThread>(
      [s](kj::AsyncIoContext& io) {
        s->io = &io;
        s->tasks = kj::heap<kj::TaskSet>(*s);
      },
      [s] {
        s->tasks = nullptr;  // in the order they depend on each other
        s->session = nullptr;
        s->head = nullptr;
        s->rpc = nullptr;
        s->stream = nullptr;
      });
}

HeadClient::~HeadClient() { state_->loop.reset(); }

absl::StatusOr<std::unique_ptr<HeadClient>> HeadClient::Connect(const std::string& address,
                                                                const Credentials& credentials,
                                                                absl::Duration timeout) {
  std::unique_ptr<HeadClient> client(new HeadClient());
  State* s = client->state_.get();
  absl::Status status = s->loop->executor().executeSync([&]() -> kj::Promise<absl::Status> {
    return ConnectCluster(*s->io->provider, address, credentials, timeout, "the cluster head")
        .then([s](absl::StatusOr<kj::Own<kj::AsyncIoStream>> stream) {
          if (!stream.ok()) return stream.status();
          s->stream = *std::move(stream);
          s->local_ip = LocalIp(*s->stream);
          s->rpc = kj::heap<capnp::TwoPartyClient>(*s->stream);
          s->head = s->rpc->bootstrap().castAs<ClusterHead>();
          return absl::OkStatus();
        });
  });
  if (!status.ok()) return status;
  client->local_ip_ = s->local_ip;
  return client;
}

absl::Status HeadClient::Join(const NodeEntry& node, JoinOptions options) {
  State* s = state_.get();
  return s->loop->executor().executeSync([&]() -> kj::Promise<absl::Status> {
    auto request = s->head.registerRequest();
    request.setProtocolVersion(options.protocol_version);
    request.setLibraryVersion(options.library_version);
    FillNodeInfo(node, request.initNode());
    return request.send().then(
        [s, &options](capnp::Response<ClusterHead::RegisterResults>&& response) {
          if (response.hasError() && response.getError().size() > 0) {
            return absl::FailedPreconditionError(
                absl::StrCat("the cluster head refused this node: ", response.getError().cStr()));
          }
          s->session = response.getNode();
          s->joined = true;
          s->join = std::move(options);
          s->tasks->add(s->WatchHead());
          return absl::OkStatus();
        },
        [](kj::Exception&& e) {
          return absl::UnavailableError(
              absl::StrCat("cannot join the cluster: ", e.getDescription().cStr()));
        });
  });
}

absl::StatusOr<std::vector<NodeEntry>> HeadClient::Nodes() {
  State* s = state_.get();
  using Result = absl::StatusOr<std::vector<NodeEntry>>;
  return s->loop->executor().executeSync([&]() -> kj::Promise<Result> {
    return s->head.nodesRequest().send().then(
        [](capnp::Response<ClusterHead::NodesResults>&& response) -> Result {
          std::vector<NodeEntry> nodes;
          for (auto info : response.getNodes()) nodes.push_back(ReadNodeInfo(info));
          return nodes;
        },
        [](kj::Exception&& e) -> Result {
          return absl::UnavailableError(
              absl::StrCat("cannot read the cluster's nodes: ", e.getDescription().cStr()));
        });
  });
}

absl::StatusOr<ActorHostAddress> HeadClient::ActorHost(const std::string& program_key,
                                                       const std::string& host_key,
                                                       const std::vector<std::string>& argv,
                                                       const std::vector<std::string>& env,
                                                       bool start) {
  State* s = state_.get();
  using Result = absl::StatusOr<ActorHostAddress>;
  return s->loop->executor().executeSync([&]() -> kj::Promise<Result> {
    auto request = s->head.actorHostRequest();
    request.setProgramKey(program_key);
    request.setHostKey(host_key);
    request.setStart(start);
    auto args = request.initArgv(argv.size());
    for (size_t i = 0; i < argv.size(); ++i) args.set(i, argv[i]);
    auto vars = request.initEnv(env.size());
    for (size_t i = 0; i < env.size(); ++i) vars.set(i, env[i]);
    // The head answers within its launcher's ready timeout (60 s); this bounds a silent head.
    return s->io->provider->getTimer()
        .timeoutAfter(120 * kj::SECONDS, request.send())
        .then(
            [](capnp::Response<ClusterHead::ActorHostResults>&& response) -> Result {
              if (response.hasError() && response.getError().size() > 0) {
                return absl::UnavailableError(response.getError().cStr());
              }
              if (response.getAddress().size() == 0) {
                return absl::NotFoundError("no actor host of this program is running");
              }
              return ActorHostAddress{response.getAddress(), response.getJob()};
            },
            [](kj::Exception&& e) -> Result {
              return absl::UnavailableError(
                  absl::StrCat("cannot ask for the actor host: ", e.getDescription().cStr()));
            });
  });
}

absl::Status HeadClient::RegisterActorHost(const std::string& host_key,
                                           const ActorHostAddress& host) {
  State* s = state_.get();
  return s->loop->executor().executeSync([&]() -> kj::Promise<absl::Status> {
    if (!s->joined) {
      return absl::FailedPreconditionError("register the node (Join) before its actor host");
    }
    auto request = s->session.registerActorHostRequest();
    request.setHostKey(host_key);
    request.setAddress(host.address);
    request.setJob(host.job);
    return request.send().then(
        [](capnp::Response<NodeSession::RegisterActorHostResults>&& response) {
          if (response.hasError() && response.getError().size() > 0) {
            return absl::FailedPreconditionError(absl::StrCat(
                "the cluster head refused this actor host: ", response.getError().cStr()));
          }
          return absl::OkStatus();
        },
        [](kj::Exception&& e) {
          return absl::UnavailableError(
              absl::StrCat("cannot register the actor host: ", e.getDescription().cStr()));
        });
  });
}

}  // namespace ray::cluster
