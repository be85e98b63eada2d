#include "ray/cluster/node_service.h"

#include <capnp/rpc-twoparty.h>
#include <kj/debug.h>

#include <cstdio>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ray/cluster/cluster_rpc_server.h"
#include "ray/cluster/cluster_stream.h"
#include "ray/common/capnp_bytes.h"
#include "ray/common/event_loop_thread.h"
#include "ray/rpc/node.capnp.h"

namespace ray::cluster {

using rpc::node::DriverSession;
using rpc::node::NodeService;

namespace {

constexpr absl::Duration kConnectTimeout = absl::Seconds(10);

// Held by a driver; its release (or the end of its connection) says the driver is gone.
class DriverSessionImpl final : public DriverSession::Server {
 public:
  DriverSessionImpl(const NodeServiceHandlers& handlers, uint32_t job)
      : handlers_(handlers), job_(job) {}
  ~DriverSessionImpl() {
    if (handlers_.driver_gone) handlers_.driver_gone(job_);
  }

 private:
  const NodeServiceHandlers& handlers_;
  uint32_t job_;
};

class NodeServiceImpl final : public NodeService::Server {
 public:
  explicit NodeServiceImpl(const NodeServiceHandlers& handlers) : handlers_(handlers) {}

  kj::Promise<void> startWorkers(StartWorkersContext context) override {
    auto params = context.getParams();
    WorkerStartRequest request{.scheduler = params.getScheduler(),
                               .program_key = params.getProgramKey(),
                               .count = static_cast<int>(std::min(params.getCount(), 1024u)),
                               .job = params.getJob()};
    for (auto arg : params.getArgv()) request.argv.emplace_back(arg.cStr(), arg.size());
    for (auto var : params.getEnv()) {
      std::string entry(var.cStr(), var.size());
      if (entry.find('=') != std::string::npos) request.env.push_back(std::move(entry));
    }
    if (request.scheduler.empty() || request.program_key.empty() || request.count <= 0) {
      context.getResults().setError("startWorkers needs a scheduler, a program and a count");
      return kj::READY_NOW;
    }
    return handlers_.start_workers(std::move(request)).then([context](std::string error) mutable {
      context.getResults().setError(error);
    });
  }

  kj::Promise<void> attach(AttachContext context) override {
    uint32_t job = context.getParams().getJob();
    if (job == 0) return KJ_EXCEPTION(FAILED, "attach: job 0 names no driver");
    context.getResults().setSession(kj::heap<DriverSessionImpl>(handlers_, job));
    return kj::READY_NOW;
  }

  kj::Promise<void> freeObjects(FreeObjectsContext context) override {
    std::vector<ObjectID> ids;
    for (capnp::Data::Reader id : context.getParams().getIds()) {
      ObjectID parsed;
      if (ObjectID::FromBinary(AsView(id), &parsed) && !parsed.IsNil()) ids.push_back(parsed);
    }
    if (!ids.empty()) handlers_.free_objects(std::move(ids));
    return kj::READY_NOW;
  }

 private:
  const NodeServiceHandlers& handlers_;
};

}  // namespace

struct NodeServer::Impl {
  NodeServiceHandlers handlers;
  std::unique_ptr<ClusterRpcServer> server;
};

NodeServer::NodeServer(kj::AsyncIoContext& io, Credentials credentials,
                       absl::Duration handshake_timeout, NodeServiceHandlers handlers)
    : impl_(std::make_unique<Impl>()) {
  impl_->handlers = std::move(handlers);
  impl_->server =
      std::make_unique<ClusterRpcServer>(io, kj::heap<NodeServiceImpl>(impl_->handlers),
                                         std::move(credentials), handshake_timeout, "ray node");
}

NodeServer::~NodeServer() = default;

absl::StatusOr<int> NodeServer::Listen(const std::string& host, int port) {
  return impl_->server->Listen(host, port);
}

kj::Promise<void> NodeServer::Run() { return impl_->server->Run(); }

// Everything but `loop` and `credentials` belongs to the clients' thread.
struct NodeClients::State : public kj::TaskSet::ErrorHandler {
  void taskFailed(kj::Exception&& e) override {
    fprintf(stderr, "ray: a call to a node failed: %s\n", e.getDescription().cStr());
  }
  struct Connection {
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyClient> rpc;
    DriverSession::Client session = nullptr;  // held while connected
  };
  // The node's service at `address`, connected (credentials presented) on first use.
  NodeService::Client Service(const std::string& address);

  Credentials credentials;
  uint32_t job = 0;
  kj::AsyncIoContext* io = nullptr;
  kj::Own<kj::TaskSet> tasks;
  absl::flat_hash_map<std::string, NodeService::Client> services;
  std::vector<kj::Own<Connection>> connections;
  std::unique_ptr<EventLoopThread> loop;  // last: stopped first
};

NodeService::Client NodeClients::State::Service(const std::string& address) {
  if (auto it = services.find(address); it != services.end()) return it->second;
  auto connection = kj::heap<Connection>();
  Connection* raw = connection.get();
  connections.push_back(kj::mv(connection));
  auto connected =
      ConnectCluster(*io->provider, address, credentials, kConnectTimeout, "the node")
          .then([this, raw, address](absl::StatusOr<kj::Own<kj::AsyncIoStream>> stream)
                    -> capnp::Capability::Client {
            if (!stream.ok()) {
              services.erase(address);  // the next call tries again
              return KJ_EXCEPTION(DISCONNECTED, std::string(stream.status().message()));
            }
            raw->stream = *std::move(stream);
            raw->rpc = kj::heap<capnp::TwoPartyClient>(*raw->stream);
            tasks->add(raw->rpc->onDisconnect().then([this, address] { services.erase(address); }));
            return raw->rpc->bootstrap();
          });
  NodeService::Client service = capnp::Capability::Client(kj::mv(connected)).castAs<NodeService>();
  auto attach = service.attachRequest();
  attach.setJob(job);
  raw->session = attach.send().getSession();
  services.emplace(address, service);
  return service;
}

NodeClients::NodeClients(Credentials credentials, uint32_t job)
    : state_(std::make_unique<State>()) {
  State* s = state_.get();
  s->credentials = std::move(credentials);
  s->job = job;
  s->loop = std::make_unique<EventLoopThread>(
      [s](kj::AsyncIoContext& io) {
        s->io = &io;
        s->tasks = kj::heap<kj::TaskSet>(*s);
      },
      [s] {
        s->tasks = nullptr;
        s->services.clear();
        s->connections.clear();
      });
}

NodeClients::~NodeClients() { state_->loop.reset(); }

void NodeClients::StartWorkers(const std::string& address, WorkerStartRequest request,
                               std::function<void(const std::string&)> done) {
  // Queued on the clients' thread (executeSync only waits for it to be queued there: the
  // caller may have no event loop).
  state_->loop->executor().executeSync(
      [s = state_.get(), address, request = std::move(request), done = std::move(done)]() mutable {
        auto call = s->Service(address).startWorkersRequest();
        call.setScheduler(request.scheduler);
        call.setProgramKey(request.program_key);
        auto argv = call.initArgv(request.argv.size());
        for (size_t i = 0; i < request.argv.size(); ++i) argv.set(i, request.argv[i]);
        auto env = call.initEnv(request.env.size());
        for (size_t i = 0; i < request.env.size(); ++i) env.set(i, request.env[i]);
        call.setCount(request.count);
        call.setJob(s->job);
        s->tasks->add(call.send()
                          .then([done](auto response) { done(response.getError().cStr()); })
                          .catch_([done, address](kj::Exception&& e) {
                            done(absl::StrCat("the node at ", address,
                                              " failed: ", e.getDescription().cStr()));
                          }));
      });
}

void NodeClients::FreeObjects(const std::string& address, std::vector<ObjectID> ids) {
  state_->loop->executor().executeSync([s = state_.get(), address, ids = std::move(ids)] {
    auto call = s->Service(address).freeObjectsRequest();
    auto list = call.initIds(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) list.set(i, AsData(ids[i].Binary()));
    s->tasks->add(call.send().ignoreResult().catch_([](kj::Exception&&) {}));
  });
}

}  // namespace ray::cluster
