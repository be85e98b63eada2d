#include "ray/object_manager/object_server.h"

#include <arpa/inet.h>
#include <capnp/rpc-twoparty.h>
#include <kj/debug.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "ray/cluster/cluster_stream.h"
#include "ray/common/capnp_bytes.h"
#include "ray/common/id.h"
#include "ray/faults/fault_injection.h"
#include "ray/rpc/object_transfer.capnp.h"
#include "ray/store/client.h"

namespace ray::object_manager {

using rpc::transfer::ObjectReader;
using rpc::transfer::ObjectTransfer;

// `store`, `thread` and `executor` are set before the thread runs; the rest belongs to it.
struct ObjectServer::State : public kj::TaskSet::ErrorHandler {
  void taskFailed(kj::Exception&& e) override {
    Log(absl::StrCat("a connection failed: ", e.getDescription().cStr()));
  }
  void Log(const std::string& line) {
    if (options.log) {
      options.log(line);
    } else {
      fprintf(stderr, "ray object server: %s\n", line.c_str());
    }
  }
  void Run(std::promise<absl::StatusOr<int>>& started);
  kj::Promise<void> AcceptLoop();
  void Serve(kj::Own<kj::AsyncIoStream> stream);

  ObjectServerOptions options;
  std::unique_ptr<store::StoreClient> store;
  std::thread thread;
  kj::Own<const kj::Executor> executor;
  kj::AsyncIoContext* io = nullptr;
  kj::Own<kj::PromiseFulfiller<void>> stop;
  kj::Own<kj::ConnectionReceiver> listener;
  kj::Own<capnp::TwoPartyServer> rpc;
  kj::Own<kj::TaskSet> handshakes;
};

namespace {

// One object, pinned while the puller holds this capability (the ObjectBuffer is the pin).
class ObjectReaderImpl final : public ObjectReader::Server {
 public:
  explicit ObjectReaderImpl(store::ObjectBuffer buffer) : buffer_(std::move(buffer)) {}

  kj::Promise<void> read(ReadContext context) override {
    switch (faults::At("object_server.read")) {
      case faults::Action::kKill:
        faults::Kill();
      case faults::Action::kStall:
        return kj::NEVER_DONE;
      default:
        break;
    }
    auto params = context.getParams();
    uint64_t offset = params.getOffset();
    uint32_t length = params.getLength();
    if (length > rpc::transfer::MAX_READ_BYTES) {
      return KJ_EXCEPTION(FAILED, "read longer than maxReadBytes", length);
    }
    if (offset > buffer_.size()) {
      return KJ_EXCEPTION(FAILED, "read past the end of the object", offset, buffer_.size());
    }
    uint64_t n = std::min<uint64_t>(length, buffer_.size() - offset);
    // The reply points at the store's memory instead of copying it: the bytes go from the
    // mapping to the socket. The pin lasts until the puller drops this reader, which it does
    // only after the last reply came.
    auto results = context.getResults(capnp::MessageSize{8, 1});
    auto orphanage = capnp::Orphanage::getForMessageContaining(results);
    results.adoptData(
        orphanage.referenceExternalData(capnp::Data::Reader(buffer_.data() + offset, n)));
    return kj::READY_NOW;
  }

 private:
  store::ObjectBuffer buffer_;
};

// How long `open` waits for the seal of an object that is created but not sealed yet.
constexpr absl::Duration kSealWait = absl::Seconds(2);

class ObjectTransferImpl final : public ObjectTransfer::Server {
 public:
  explicit ObjectTransferImpl(store::StoreClient& store) : store_(store) {}

  kj::Promise<void> open(OpenContext context) override {
    ObjectID id;
    if (!ObjectID::FromBinary(AsView(context.getParams().getId()), &id)) {
      return KJ_EXCEPTION(FAILED, "malformed object ID");
    }
    auto results = context.getResults();
    absl::StatusOr<store::ObjectBuffer> buffer = absl::NotFoundError("");
    if (auto sealed = store_.TryGet(id)) {
      buffer = *std::move(sealed);
    } else {
      // The lock-free lookup can miss under a concurrent change, and the seal of an object its
      // maker reported done may still be on its way to the store (seals are pipelined): ask the
      // store, which waits for an object created and not sealed yet (briefly: it holds this
      // loop) and answers NotFound at once for one it does not have.
      buffer = store_.Get(id, kSealWait, store::StoreClient::IfAbsent::kFail);
    }
    if (!buffer.ok()) {
      results.setFound(false);
      results.setError(absl::StrCat("object ", id.Hex(), " is not sealed in the source's store (",
                                    buffer.status().message(), ")"));
      return kj::READY_NOW;
    }
    results.setFound(true);
    results.setSize(buffer->size());
    results.setReader(kj::heap<ObjectReaderImpl>(*std::move(buffer)));
    return kj::READY_NOW;
  }

 private:
  store::StoreClient& store_;
};

}  // namespace

kj::Promise<void> ObjectServer::State::AcceptLoop() {
  return listener->accept().then(
      [this](kj::Own<kj::AsyncIoStream>&& stream) {
        Serve(kj::mv(stream));
        return AcceptLoop();
      },
      [this](kj::Exception&& e) {
        // Out of descriptors, say: back off and try again rather than stop serving.
        Log(absl::StrCat("accept failed: ", e.getDescription().cStr()));
        return io->provider->getTimer().afterDelay(100 * kj::MILLISECONDS).then([this] {
          return AcceptLoop();
        });
      });
}

void ObjectServer::State::Serve(kj::Own<kj::AsyncIoStream> stream) {
  auto opened = cluster::AcceptCluster(io->provider->getTimer(), kj::mv(stream),
                                       options.credentials, options.handshake_timeout,
                                       [this](const std::string& line) { Log(line); });
  handshakes->add(opened.then([this](kj::Maybe<kj::Own<kj::AsyncIoStream>> accepted) {
    KJ_IF_MAYBE (s, accepted) {
      rpc->accept(kj::mv(*s));
    }
  }));
}

void ObjectServer::State::Run(std::promise<absl::StatusOr<int>>& started) {
  auto context = kj::setupAsyncIo();
  io = &context;
  int port = 0;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 auto address = io->provider->getNetwork()
                                    .parseAddress(options.host, static_cast<kj::uint>(options.port))
                                    .wait(io->waitScope);
                 listener = address->listen();
                 port = static_cast<int>(listener->getPort());
               })) {
    started.set_value(absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options.host, ":", options.port, ": ", e->getDescription().cStr())));
    return;
  }
  rpc = kj::heap<capnp::TwoPartyServer>(kj::heap<ObjectTransferImpl>(*store));
  handshakes = kj::heap<kj::TaskSet>(*this);
  auto stopped = kj::newPromiseAndFulfiller<void>();
  stop = kj::mv(stopped.fulfiller);
  executor = kj::getCurrentThreadExecutor().addRef();
  started.set_value(port);
  stopped.promise.exclusiveJoin(AcceptLoop()).wait(io->waitScope);
  // In the order they depend on each other; the readers' pins go with the connections.
  handshakes = nullptr;
  rpc = nullptr;
  listener = nullptr;
  io = nullptr;
}

absl::StatusOr<std::unique_ptr<ObjectServer>> ObjectServer::Start(ObjectServerOptions options) {
  store::StoreClientOptions store_options;
  store_options.name = "object server";
  auto store = store::StoreClient::Connect(options.store_socket, store_options);
  if (!store.ok()) return store.status();
  std::unique_ptr<ObjectServer> server(new ObjectServer());
  server->state_ = std::make_unique<State>();
  State* s = server->state_.get();
  s->options = std::move(options);
  s->store = *std::move(store);
  std::promise<absl::StatusOr<int>> started;
  auto port = started.get_future();
  s->thread = std::thread([s, &started] { s->Run(started); });
  absl::StatusOr<int> listening = port.get();
  if (!listening.ok()) {
    s->thread.join();
    s->thread = std::thread();
    return listening.status();
  }
  server->port_ = *listening;
  return server;
}

ObjectServer::~ObjectServer() {
  if (!state_->thread.joinable()) return;
  state_->executor->executeSync([s = state_.get()] { s->stop->fulfill(); });
  state_->thread.join();
}

}  // namespace ray::object_manager
