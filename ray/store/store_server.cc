#include "ray/store/store_server.h"

#include <capnp/rpc-twoparty.h>
#include <kj/debug.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <list>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ray/store/store.capnp.h"
#include "ray/store/wire.h"

namespace ray::store {
namespace {

class SharedFileImpl final : public rpc::SharedFile::Server {
 public:
  SharedFileImpl(int fd, uint64_t size) : fd_(fd), size_(size) {}
  kj::Maybe<int> getFd() override { return fd_; }
  kj::Promise<void> size(SizeContext context) override {
    context.getResults().setSize(size_);
    return kj::READY_NOW;
  }

 private:
  int fd_;
  uint64_t size_;
};

// A Get waiting for objects that are not sealed yet, listed in the registry under each ID it
// waits for. It takes itself off when destroyed, which also happens when its call is cancelled
// (the client went away): no dangling entry may stay behind.
struct Waiter {
  using Registry = absl::flat_hash_map<ObjectID, std::vector<Waiter*>>;
  explicit Waiter(Registry& registry) : registry(registry) {}
  ~Waiter() { Forget(); }

  void WaitFor(const ObjectID& id) {
    ++missing;
    registry[id].push_back(this);
    ids.push_back(id);
  }
  void Forget() {
    for (const ObjectID& id : ids) {
      auto it = registry.find(id);
      if (it == registry.end()) continue;
      std::erase(it->second, this);
      if (it->second.empty()) registry.erase(it);
    }
    ids.clear();
  }

  Registry& registry;
  std::vector<ObjectID> ids;
  size_t missing = 0;
  kj::Own<kj::PromiseFulfiller<void>> fulfiller;
};

}  // namespace

struct StoreServer::Impl : public kj::TaskSet::ErrorHandler {
  Impl(ObjectStore& store, kj::AsyncIoContext& io) : store(store), io(io) {}
  void taskFailed(kj::Exception&& exception) override {
    KJ_LOG(WARNING, "store task failed", exception);
  }

  void OnSealed(const ObjectID& id);
  kj::Promise<void> FlushNotifications();

  ObjectStore& store;
  kj::AsyncIoContext& io;
  kj::Own<kj::ConnectionReceiver> listener;
  kj::Own<capnp::TwoPartyServer> server;
  Waiter::Registry waiters;
  std::list<rpc::SealListener::Client> listeners;
  std::vector<ObjectID> unsent_seals;
  bool flush_scheduled = false;
  kj::TaskSet tasks{*this};
};

namespace {

class SessionImpl final : public rpc::Session::Server {
 public:
  SessionImpl(StoreServer::Impl& server, ClientId client) : server_(server), client_(client) {}
  ~SessionImpl() { server_.store.RemoveClient(client_); }

  kj::Promise<void> memory(MemoryContext context) override {
    ObjectStore& store = server_.store;
    auto results = context.getResults();
    results.setArena(kj::heap<SharedFileImpl>(store.arena().fd(), store.arena().size()));
    results.setIndex(
        kj::heap<SharedFileImpl>(store.index_memory().fd(), store.index_memory().size()));
    results.setPins(kj::heap<SharedFileImpl>(store.pins(client_).fd(), store.pins(client_).size()));
    results.setCapacity(store.capacity());
    return kj::READY_NOW;
  }

  kj::Promise<void> create(CreateContext context) override {
    auto params = context.getParams();
    auto results = context.getResults();
    ObjectID id;
    if (!ParseId(params.getId(), &id, results.initStatus())) return kj::READY_NOW;
    auto snap = server_.store.CreateObject(client_, id, params.getSize());
    if (!snap.ok()) {
      FillStatus(snap.status(), results.initStatus());
      return kj::READY_NOW;
    }
    results.initStatus().setCode(rpc::Code::OK);
    FillLocation(*snap, results.initLocation());
    return kj::READY_NOW;
  }

  kj::Promise<void> apply(ApplyContext context) override {
    auto params = context.getParams();
    std::vector<std::pair<std::string, absl::Status>> failures;
    for (auto put : params.getPuts()) {
      ObjectID id;
      absl::Status status = ObjectID::FromBinary(AsView(put.getId()), &id)
                                ? server_.store.PutSealed(id, AsSpan(put.getData()))
                                : BadId();
      if (!status.ok()) failures.emplace_back(std::string(AsView(put.getId())), status);
    }
    for (auto raw : params.getSeals()) {
      ObjectID id;
      absl::Status status =
          ObjectID::FromBinary(AsView(raw), &id) ? server_.store.Seal(client_, id) : BadId();
      if (!status.ok()) failures.emplace_back(std::string(AsView(raw)), status);
    }
    for (uint32_t record : params.getReleased()) server_.store.OnReleased(record);
    FillFailures(failures, context.getResults().initFailures(failures.size()));
    return kj::READY_NOW;
  }

  kj::Promise<void> get(GetContext context) override {
    auto params = context.getParams();
    std::vector<ObjectID> ids;
    for (auto raw : params.getIds()) ids.push_back(ObjectID::FromBinaryOrNil(AsView(raw)));
    auto waiter = kj::heap<Waiter>(server_.waiters);
    for (const ObjectID& id : ids) {
      if (!id.IsNil() && !server_.store.Contains(id) && !IsFailed(id)) waiter->WaitFor(id);
    }
    kj::Promise<void> ready = kj::READY_NOW;
    if (waiter->missing > 0) {
      // Let the client's disconnect cancel the wait. Otherwise the call, and with it a dead
      // client's session (its pins, its unsealed objects), lives on until the objects appear.
      context.allowCancellation();
      auto paf = kj::newPromiseAndFulfiller<void>();
      waiter->fulfiller = kj::mv(paf.fulfiller);
      ready = kj::mv(paf.promise);
      int64_t timeout_ms = params.getTimeoutMs();
      if (timeout_ms >= 0) {
        ready = ready.exclusiveJoin(
            server_.io.provider->getTimer().afterDelay(timeout_ms * kj::MILLISECONDS));
      }
    }
    return ready.then([this, context, ids = std::move(ids), waiter = kj::mv(waiter)]() mutable {
      waiter->Forget();
      auto results = context.getResults();
      auto locations = results.initLocations(ids.size());
      auto statuses = results.initStatuses(ids.size());
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i].IsNil()) {
          FillStatus(BadId(), statuses[i]);
          continue;
        }
        auto snap = server_.store.PinSealed(client_, ids[i]);
        if (!snap) {
          statuses[i].setCode(rpc::Code::NOT_FOUND);
          statuses[i].setMessage(absl::StrCat("object ", ids[i].Hex(), " is not in the store"));
        } else if (snap->state == ObjectState::kFailed) {
          statuses[i].setCode(rpc::Code::OBJECT_STORE_FULL);
          statuses[i].setMessage(
              absl::StrCat("ObjectStoreFull: object ", ids[i].Hex(), " could not be stored"));
        } else {
          statuses[i].setCode(rpc::Code::OK);
          FillLocation(*snap, locations[i]);
        }
      }
    });
  }

  kj::Promise<void> contains(ContainsContext context) override {
    ObjectID id = ObjectID::FromBinaryOrNil(AsView(context.getParams().getId()));
    context.getResults().setSealed(!id.IsNil() && server_.store.Contains(id));
    return kj::READY_NOW;
  }

  kj::Promise<void> delete_(DeleteContext context) override {
    std::vector<std::pair<std::string, absl::Status>> failures;
    for (auto raw : context.getParams().getIds()) {
      ObjectID id;
      absl::Status status =
          ObjectID::FromBinary(AsView(raw), &id) ? server_.store.Delete(id) : BadId();
      if (!status.ok()) failures.emplace_back(std::string(AsView(raw)), status);
    }
    FillFailures(failures, context.getResults().initFailures(failures.size()));
    return kj::READY_NOW;
  }

  kj::Promise<void> abort(AbortContext context) override {
    auto results = context.getResults();
    ObjectID id;
    if (!ParseId(context.getParams().getId(), &id, results.initStatus())) return kj::READY_NOW;
    FillStatus(server_.store.Abort(client_, id), results.initStatus());
    return kj::READY_NOW;
  }

  kj::Promise<void> subscribe(SubscribeContext context) override {
    server_.listeners.push_back(context.getParams().getListener());
    return kj::READY_NOW;
  }

  kj::Promise<void> stats(StatsContext context) override {
    StoreStats stats = server_.store.Stats();
    auto results = context.getResults();
    results.setCapacity(stats.capacity);
    results.setUsed(stats.used);
    results.setObjects(stats.objects);
    results.setEvictions(stats.evictions);
    return kj::READY_NOW;
  }

 private:
  static absl::Status BadId() {
    return absl::InvalidArgumentError(absl::StrCat("an object ID is ", ObjectID::kSize, " bytes"));
  }

  static bool ParseId(capnp::Data::Reader raw, ObjectID* id, rpc::Status::Builder status) {
    if (ObjectID::FromBinary(AsView(raw), id)) return true;
    FillStatus(BadId(), status);
    return false;
  }

  bool IsFailed(const ObjectID& id) {
    auto snap = server_.store.Find(id);
    return snap && snap->state == ObjectState::kFailed;
  }

  static void FillFailures(const std::vector<std::pair<std::string, absl::Status>>& failures,
                           capnp::List<rpc::Failure>::Builder out) {
    for (size_t i = 0; i < failures.size(); ++i) {
      out[i].setId(AsData(failures[i].first));
      FillStatus(failures[i].second, out[i].initStatus());
    }
  }

  StoreServer::Impl& server_;
  ClientId client_;
};

class ObjectStoreImpl final : public rpc::ObjectStore::Server {
 public:
  explicit ObjectStoreImpl(StoreServer::Impl& server) : server_(server) {}

  kj::Promise<void> connect(ConnectContext context) override {
    auto client = server_.store.AddClient(context.getParams().getClientName());
    if (!client.ok()) {
      return KJ_EXCEPTION(OVERLOADED, std::string(client.status().message()));
    }
    context.getResults().setSession(kj::heap<SessionImpl>(server_, *client));
    return kj::READY_NOW;
  }

 private:
  StoreServer::Impl& server_;
};

}  // namespace

void StoreServer::Impl::OnSealed(const ObjectID& id) {
  if (auto it = waiters.find(id); it != waiters.end()) {
    for (Waiter* waiter : it->second) {
      if (--waiter->missing == 0 && waiter->fulfiller) waiter->fulfiller->fulfill();
    }
    waiters.erase(it);
  }
  if (listeners.empty()) return;
  unsent_seals.push_back(id);
  if (!flush_scheduled) {
    flush_scheduled = true;
    tasks.add(kj::evalLater([this] { return FlushNotifications(); }));
  }
}

kj::Promise<void> StoreServer::Impl::FlushNotifications() {
  flush_scheduled = false;
  std::vector<ObjectID> ids = std::move(unsent_seals);
  unsent_seals.clear();
  kj::Vector<kj::Promise<void>> sends;
  for (auto it = listeners.begin(); it != listeners.end(); ++it) {
    auto request = it->sealedRequest();
    auto list = request.initIds(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) list.set(i, AsData(ids[i].Binary()));
    sends.add(request.send().catch_([this, it](kj::Exception&&) { listeners.erase(it); }));
  }
  return kj::joinPromises(sends.releaseAsArray());
}

StoreServer::StoreServer(ObjectStore& store, kj::AsyncIoContext& io)
    : impl_(std::make_unique<Impl>(store, io)) {
  impl_->server = kj::heap<capnp::TwoPartyServer>(kj::heap<ObjectStoreImpl>(*impl_));
  store.SetSealCallback([impl = impl_.get()](const ObjectID& id) { impl->OnSealed(id); });
}

StoreServer::~StoreServer() {
  impl_->store.SetSealCallback(nullptr);
  // Disconnect every client and let the cancelled calls unwind now, while the state their
  // sessions need on the way out still exists (the event loop outlives this server).
  impl_->server = nullptr;
  impl_->io.waitScope.poll();
}

absl::Status StoreServer::Listen(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", socket_path));
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  unlink(socket_path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 128) != 0) {
    absl::Status status =
        absl::InternalError(absl::StrCat("bind ", socket_path, ": ", std::strerror(errno)));
    close(fd);
    return status;
  }
  impl_->listener = impl_->io.lowLevelProvider->wrapListenSocketFd(
      fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
              kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK |
              kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
  return absl::OkStatus();
}

kj::Promise<void> StoreServer::Run() {
  KJ_REQUIRE(impl_->listener.get() != nullptr, "Listen() first");
  // Cap'n Proto 0.9 only attaches descriptors to outgoing messages when the connection
  // accepts some too; one per message is the least that enables it.
  return impl_->server->listenCapStreamReceiver(*impl_->listener, /*maxFdsPerMessage=*/1);
}

}  // namespace ray::store
