#include "ray/cluster/head_server.h"

#include <kj/debug.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "ray/cluster/cluster_rpc_server.h"
#include "ray/cluster/node_info.h"
#include "ray/cluster/program_store.h"
#include "ray/cluster/program_wire.h"
#include "ray/cluster/version.h"
#include "ray/rpc/cluster.capnp.h"

namespace ray::cluster {

using rpc::cluster::ClusterHead;
using rpc::cluster::NodeSession;
using rpc::cluster::ProgramFileUpload;

struct HeadServer::Impl : public kj::TaskSet::ErrorHandler {
  Impl(kj::AsyncIoContext& io, HeadOptions options)
      : io(io), options(std::move(options)), tasks(*this) {}
  kj::Promise<void> LivenessLoop();
  void Log(const std::string& line) { server->Log(line); }
  void taskFailed(kj::Exception&& e) override {
    Log(absl::StrCat("an actor host's start failed: ", e.getDescription().cStr()));
  }

  // A program's actor host (ClusterHead.actorHost): its node, its scheduler's address, its job.
  struct ActorHost {
    std::string node_id;
    std::string address;
    uint32_t job = 0;
  };
  using HostAnswer = absl::StatusOr<ActorHost>;
  // The registered host of `key` if its node is alive (a dead one is forgotten), else null.
  const ActorHost* LiveHost(const std::string& key);
  // The start of each host key's host under way, and who waits for it.
  struct HostStart {
    uint64_t id = 0;
    std::vector<kj::Own<kj::PromiseFulfiller<HostAnswer>>> waiters;
  };
  // Starts the host of `key` through the node's launcher; its askers wait in `start`.
  void StartActorHost(const std::string& key, HostStart& start, WorkerStartRequest request);
  // Answers the askers waiting for the start of `key`'s host, if any: those of start `start`
  // only, when given (a start that failed after another began answers no one).
  void AnswerHostStart(const std::string& key, const HostAnswer& answer,
                       std::optional<uint64_t> start = std::nullopt);

  kj::AsyncIoContext& io;
  const HeadOptions options;
  NodeTable table;
  std::string local_node_id;
  std::string address;                           // HOST:PORT, once listening
  std::unique_ptr<ProgramStore> programs;        // null without a program_dir; outlives `server`
  std::map<std::string, ActorHost> actor_hosts;  // by host key
  std::map<std::string, HostStart> host_starts;
  uint64_t last_start = 0;
  kj::TaskSet tasks;  // the starts under way
  kj::Own<ClusterRpcServer> server;
};

namespace {

class NodeSessionImpl final : public NodeSession::Server {
 public:
  NodeSessionImpl(HeadServer::Impl& head, std::string node_id)
      : head_(head), node_id_(std::move(node_id)) {}
  ~NodeSessionImpl() {
    if (head_.table.MarkDead(node_id_, "its connection to the head ended")) {
      head_.Log(absl::StrCat("node ", node_id_, " is dead: its connection ended"));
    }
  }
  kj::Promise<void> heartbeat(HeartbeatContext context) override {
    auto params = context.getParams();
    std::vector<NodeUsage> usage;
    for (auto use : params.getUsage()) usage.push_back(ReadNodeUsage(use));
    if (!head_.table.Heartbeat(node_id_, params.getStoreUsedBytes(), absl::Now(),
                               std::move(usage))) {
      return KJ_EXCEPTION(DISCONNECTED, "the head holds this node dead", node_id_);
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> registerActorHost(RegisterActorHostContext context) override {
    auto params = context.getParams();
    std::string key = params.getHostKey();
    const HeadServer::Impl::ActorHost* other = head_.LiveHost(key);
    if (other != nullptr && other->node_id != node_id_) {
      context.getResults().setError(absl::StrCat("actor host ", key,
                                                 " is registered already (node ", other->node_id,
                                                 " at ", other->address, ")"));
      return kj::READY_NOW;
    }
    HeadServer::Impl::ActorHost host{node_id_, params.getAddress(), params.getJob()};
    head_.actor_hosts[key] = host;
    head_.Log(absl::StrCat("node ", node_id_, " is actor host ", key, " at ", host.address));
    head_.AnswerHostStart(key, host);
    return kj::READY_NOW;
  }

 private:
  HeadServer::Impl& head_;
  std::string node_id_;
};

kj::Exception Refusal(const absl::Status& status) {
  return kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                       kj::str(std::string(status.message())));
}

class ProgramFileUploadImpl final : public ProgramFileUpload::Server {
 public:
  ProgramFileUploadImpl(HeadServer::Impl& head, std::unique_ptr<ProgramStore::Upload> upload)
      : head_(head), upload_(std::move(upload)) {}

  kj::Promise<void> write(WriteContext context) override {
    auto data = context.getParams().getData();
    absl::Status status = upload_->Write(std::string_view(data.asChars().begin(), data.size()));
    if (!status.ok()) return Refusal(status);
    return kj::READY_NOW;
  }

  kj::Promise<void> commit(CommitContext context) override {
    if (absl::Status status = upload_->Commit(); !status.ok()) {
      head_.Log(absl::StrCat("refused a program file: ", status.message()));
      context.getResults().setError(std::string(status.message()));
    }
    return kj::READY_NOW;
  }

 private:
  HeadServer::Impl& head_;
  std::unique_ptr<ProgramStore::Upload> upload_;
};

constexpr uint32_t kMaxReadBytes = 4 << 20;
constexpr char kNoPrograms[] = "this cluster head keeps no programs";

class ClusterHeadImpl final : public ClusterHead::Server {
 public:
  explicit ClusterHeadImpl(HeadServer::Impl& head) : head_(head) {}

  kj::Promise<void> register_(RegisterContext context) override {
    auto params = context.getParams();
    std::string library = params.getLibraryVersion();
    auto results = context.getResults();
    if (params.getProtocolVersion() != kProtocolVersion || library != kLibraryVersion) {
      std::string error = absl::StrCat(
          "version mismatch: the head runs protocol ", kProtocolVersion, " of ", kLibraryVersion,
          ", this node protocol ", params.getProtocolVersion(), " of ", library);
      head_.Log(absl::StrCat("refused a node: ", error));
      results.setError(error);
      return kj::READY_NOW;
    }
    NodeEntry node = ReadNodeInfo(params.getNode());
    node.is_head = false;
    if (absl::Status status = head_.table.Register(node, absl::Now()); !status.ok()) {
      head_.Log(absl::StrCat("refused a node: ", status.message()));
      results.setError(std::string(status.message()));
      return kj::READY_NOW;
    }
    head_.Log(absl::StrCat("node ", node.node_id, " at ", node.address, " joined"));
    results.setNode(kj::heap<NodeSessionImpl>(head_, node.node_id));
    return kj::READY_NOW;
  }

  kj::Promise<void> nodes(NodesContext context) override {
    std::vector<NodeEntry> nodes = head_.table.Nodes();
    auto results = context.getResults();
    auto list = results.initNodes(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) FillNodeInfo(nodes[i], list[i]);
    results.setHeadVersion(kLibraryVersion);
    return kj::READY_NOW;
  }

  kj::Promise<void> putProgram(PutProgramContext context) override {
    auto params = context.getParams();
    auto results = context.getResults();
    if (head_.programs == nullptr) {
      results.setError(kNoPrograms);
      return kj::READY_NOW;
    }
    std::string key = params.getProgramKey();
    bool known = head_.programs->FindProgram(key) != nullptr;
    auto missing = head_.programs->PutProgram(key, ReadProgramManifest(params.getManifest()));
    if (!missing.ok()) {
      head_.Log(absl::StrCat("refused a program: ", missing.status().message()));
      results.setError(std::string(missing.status().message()));
      return kj::READY_NOW;
    }
    auto list = results.initMissing(missing->size());
    for (size_t i = 0; i < missing->size(); ++i) list.set(i, (*missing)[i]);
    if (missing->empty() && !known) head_.Log(absl::StrCat("program ", key, " is shipped"));
    return kj::READY_NOW;
  }

  kj::Promise<void> uploadProgramFile(UploadProgramFileContext context) override {
    auto params = context.getParams();
    auto results = context.getResults();
    if (head_.programs == nullptr) {
      results.setError(kNoPrograms);
      return kj::READY_NOW;
    }
    auto upload = head_.programs->BeginUpload(params.getKey(), params.getSize());
    if (!upload.ok()) {
      head_.Log(absl::StrCat("refused a program file: ", upload.status().message()));
      results.setError(std::string(upload.status().message()));
      return kj::READY_NOW;
    }
    results.setUpload(kj::heap<ProgramFileUploadImpl>(head_, *std::move(upload)));
    return kj::READY_NOW;
  }

  kj::Promise<void> programManifest(ProgramManifestContext context) override {
    const ProgramManifest* manifest = nullptr;
    if (head_.programs != nullptr) {
      manifest = head_.programs->FindProgram(context.getParams().getProgramKey());
    }
    auto results = context.getResults();
    results.setFound(manifest != nullptr);
    if (manifest != nullptr) {
      FillProgramManifest(manifest->executable, manifest->libraries, results.initManifest());
    }
    return kj::READY_NOW;
  }

  kj::Promise<void> readProgramFile(ReadProgramFileContext context) override {
    auto params = context.getParams();
    auto results = context.getResults();
    if (head_.programs == nullptr) {
      results.setError(kNoPrograms);
      return kj::READY_NOW;
    }
    auto data = head_.programs->Read(params.getKey(), params.getOffset(),
                                     std::min(params.getLength(), kMaxReadBytes));
    if (!data.ok()) {
      results.setError(std::string(data.status().message()));
      return kj::READY_NOW;
    }
    results.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(data->data()), data->size()));
    return kj::READY_NOW;
  }

  kj::Promise<void> actorHost(ActorHostContext context) override {
    auto params = context.getParams();
    const std::string program = params.getProgramKey();
    std::string key = params.getHostKey();
    if (key.empty()) key = program;
    using HostAnswer = HeadServer::Impl::HostAnswer;
    auto answer = [context](const HostAnswer& host) mutable {
      auto results = context.getResults();
      if (!host.ok()) {
        results.setError(std::string(host.status().message()));
        return;
      }
      results.setAddress(host->address);
      results.setJob(host->job);
    };
    if (const HeadServer::Impl::ActorHost* host = head_.LiveHost(key)) {
      answer(*host);
      return kj::READY_NOW;
    }
    if (!params.getStart()) return kj::READY_NOW;  // none: an empty answer
    if (!head_.options.start_actor_host) {
      answer(absl::FailedPreconditionError("this cluster head starts no actor hosts"));
      return kj::READY_NOW;
    }
    if (head_.programs == nullptr || head_.programs->FindProgram(program) == nullptr) {
      answer(absl::NotFoundError(absl::StrCat("the cluster head has no program ", program)));
      return kj::READY_NOW;
    }
    auto waiting = kj::newPromiseAndFulfiller<HostAnswer>();
    auto& start = head_.host_starts[key];
    start.waiters.push_back(kj::mv(waiting.fulfiller));
    if (start.waiters.size() == 1) {
      WorkerStartRequest request{.program_key = program, .host = true, .host_key = key};
      for (auto arg : params.getArgv()) request.argv.emplace_back(arg.cStr(), arg.size());
      for (auto entry : params.getEnv()) request.env.emplace_back(entry.cStr(), entry.size());
      head_.StartActorHost(key, start, std::move(request));
    }
    return waiting.promise.then(kj::mv(answer));
  }

 private:
  HeadServer::Impl& head_;
};

}  // namespace

const HeadServer::Impl::ActorHost* HeadServer::Impl::LiveHost(const std::string& key) {
  auto it = actor_hosts.find(key);
  if (it == actor_hosts.end()) return nullptr;
  if (!table.Alive(it->second.node_id)) {
    actor_hosts.erase(it);
    return nullptr;
  }
  return &it->second;
}

void HeadServer::Impl::StartActorHost(const std::string& key, HostStart& start,
                                      WorkerStartRequest request) {
  Log(absl::StrCat("starting actor host ", key, " (program ", request.program_key, ")"));
  const uint64_t id = start.id = ++last_start;
  request.scheduler = address;
  tasks.add(options.start_actor_host(std::move(request)).then([this, key, id](std::string error) {
    // Once it said it reached the head, its askers had their answer: it registered first.
    if (error.empty()) return;
    AnswerHostStart(
        key, absl::UnavailableError(absl::StrCat("actor host ", key, " did not start: ", error)),
        id);
  }));
}

void HeadServer::Impl::AnswerHostStart(const std::string& key, const HostAnswer& answer,
                                       std::optional<uint64_t> start) {
  auto it = host_starts.find(key);
  if (it == host_starts.end() || (start && it->second.id != *start)) return;
  auto waiters = std::move(it->second.waiters);
  host_starts.erase(it);
  if (!answer.ok()) Log(std::string(answer.status().message()));
  for (auto& waiter : waiters) waiter->fulfill(HostAnswer(answer));
}

kj::Promise<void> HeadServer::Impl::LivenessLoop() {
  auto delay = absl::ToInt64Nanoseconds(options.health.period) * kj::NANOSECONDS;
  return io.provider->getTimer().afterDelay(delay).then([this] {
    absl::Duration timeout = options.health.period * options.health.failure_threshold;
    for (const std::string& id : table.ExpireSilent(absl::Now(), timeout)) {
      Log(absl::StrCat("node ", id, " is dead: no heartbeat for ", absl::FormatDuration(timeout)));
    }
    if (options.local_store_used) {
      table.Heartbeat(local_node_id, options.local_store_used(), absl::Now());
    }
    return LivenessLoop();
  });
}

HeadServer::HeadServer(kj::AsyncIoContext& io, HeadOptions options)
    : impl_(std::make_unique<Impl>(io, std::move(options))) {
  impl_->server =
      kj::heap<ClusterRpcServer>(io, kj::heap<ClusterHeadImpl>(*impl_), impl_->options.credentials,
                                 impl_->options.handshake_timeout, "ray head");
}

HeadServer::~HeadServer() = default;

absl::StatusOr<int> HeadServer::Listen(const std::string& host, int port) {
  if (!impl_->options.program_dir.empty() && impl_->programs == nullptr) {
    auto programs =
        ProgramStore::Open(impl_->options.program_dir, impl_->options.max_program_bytes);
    if (!programs.ok()) return programs.status();
    impl_->programs = *std::move(programs);
  }
  auto listening = impl_->server->Listen(host, port);
  if (listening.ok()) impl_->address = absl::StrCat(host, ":", *listening);
  return listening;
}

absl::Status HeadServer::AddLocalNode(NodeEntry node) {
  node.is_head = true;
  impl_->local_node_id = node.node_id;
  return impl_->table.Register(std::move(node), absl::Now());
}

kj::Promise<void> HeadServer::Run() {
  return impl_->server->Run().exclusiveJoin(impl_->LivenessLoop());
}

}  // namespace ray::cluster
