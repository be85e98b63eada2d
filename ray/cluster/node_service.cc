#include "ray/cluster/node_service.h"

#include <capnp/rpc-twoparty.h>
#include <kj/debug.h>

#include <cstdio>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "ray/cluster/handshake.h"
#include "ray/cluster/token_rpc_server.h"
#include "ray/common/capnp_bytes.h"
#include "ray/common/event_loop_thread.h"
#include "ray/rpc/node.capnp.h"

namespace ray::cluster {

using rpc::node::DriverSession;
using rpc::node::NodeService;

namespace {

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
  std::unique_ptr<TokenRpcServer> server;
};

NodeServer::NodeServer(kj::AsyncIoContext& io, std::string token, absl::Duration handshake_timeout,
                       NodeServiceHandlers handlers)
    : impl_(std::make_unique<Impl>()) {
  impl_->handlers = std::move(handlers);
  impl_->server = std::make_unique<TokenRpcServer>(io, kj::heap<NodeServiceImpl>(impl_->handlers),
                                                   std::move(token), handshake_timeout, "ray node");
}

NodeServer::~NodeServer() = default;

absl::StatusOr<int> NodeServer::Listen(const std::string& host, int port) {
  return impl_->server->Listen(host, port);
}

kj::Promise<void> NodeServer::Run() { return impl_->server->Run(); }

// Everything but `thread`, `executor` and `token` belongs to the clients' thread.
struct NodeClients::State : public kj::TaskSet::ErrorHandler {
  void taskFailed(kj::Exception&& e) override {
    fprintf(stderr, "ray: a call to a node failed: %s\n", e.getDescription().cStr());
  }
  struct Connection {
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyClient> rpc;
    DriverSession::Client session = nullptr;  // held while connected
  };
  // The node's service at `address`, connected (token presented) on first use.
  NodeService::Client Service(const std::string& address);

  std::string token;
  uint32_t job = 0;
  kj::AsyncIoContext* io = nullptr;
  kj::Own<kj::TaskSet> tasks;
  absl::flat_hash_map<std::string, NodeService::Client> services;
  std::vector<kj::Own<Connection>> connections;
  std::unique_ptr<EventLoopThread> loop;  // last: stopped first
};

NodeService::Client NodeClients::State::Service(const std::string& address) {
  if (auto it = services.find(address); it != services.end()) return it->second;
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) {
    return KJ_EXCEPTION(FAILED, "not HOST:PORT", address.c_str());
  }
  auto connection = kj::heap<Connection>();
  Connection* raw = connection.get();
  connections.push_back(kj::mv(connection));
  auto connected =
      io->provider->getNetwork()
          .parseAddress(address.substr(0, colon), static_cast<kj::uint>(port))
          .then([](kj::Own<kj::NetworkAddress> a) { return a->connect(); })
          .then([this, raw, address](kj::Own<kj::AsyncIoStream> stream) {
            raw->stream = kj::mv(stream);
            return PresentToken(*raw->stream, token);
          })
          .then([this, raw, address](bool accepted) -> capnp::Capability::Client {
            if (!accepted) {
              services.erase(address);
              return KJ_EXCEPTION(DISCONNECTED, "the node refused the cluster token",
                                  address.c_str());
            }
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

NodeClients::NodeClients(std::string token, uint32_t job) : state_(std::make_unique<State>()) {
  State* s = state_.get();
  s->token = std::move(token);
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
