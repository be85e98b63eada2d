#include "ray/cluster/head_server.h"

#include <kj/debug.h>

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

struct HeadServer::Impl {
  Impl(kj::AsyncIoContext& io, HeadOptions options) : io(io), options(std::move(options)) {}
  kj::Promise<void> LivenessLoop();
  void Log(const std::string& line) { server->Log(line); }

  kj::AsyncIoContext& io;
  const HeadOptions options;
  NodeTable table;
  std::string local_node_id;
  std::unique_ptr<ProgramStore> programs;  // null without a program_dir; outlives `server`
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

 private:
  HeadServer::Impl& head_;
};

}  // namespace

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
  return impl_->server->Listen(host, port);
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
