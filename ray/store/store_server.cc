#include "ray/store/store_server.h"

#include <capnp/rpc-twoparty.h>
#include <kj/debug.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <memory>

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
  bool fail_absent = false;  // an object removed unsealed counts as done (it will not come)
  kj::Own<kj::PromiseFulfiller<void>> fulfiller;
};

}  // namespace

// What the store knows of one accepted connection, shared by its sessions (which may be
// released after the connection itself).
struct ConnectionState {
  uint32_t sessions = 0;
  // Fulfilled to make the store close the connection.
  kj::Own<kj::PromiseFulfiller<void>> closer;
  void Close() {
    if (closer) closer->fulfill();
  }
};

// A client's seal listener and the notifications not sent to it yet. At most one `sealed`
// call is in flight: the next waits for Cap'n Proto's flow control (which needs the client
// to read), so what a slow subscriber costs is its window plus `unsent`.
struct Subscriber {
  Subscriber(rpc::SealListener::Client listener, std::weak_ptr<ConnectionState> connection)
      : listener(kj::mv(listener)), connection(std::move(connection)) {}

  rpc::SealListener::Client listener;
  std::weak_ptr<ConnectionState> connection;
  std::vector<ObjectID> unsent;
  bool sending = false;
  bool dropped = false;
};

struct StoreServer::Impl : public kj::TaskSet::ErrorHandler {
  Impl(ObjectStore& store, kj::AsyncIoContext& io, const ServerOptions& options)
      : store(store), io(io), options(options) {}
  void taskFailed(kj::Exception&& exception) override {
    KJ_LOG(WARNING, "store task failed", exception);
  }

  kj::Promise<void> AcceptLoop();
  void Serve(kj::Own<kj::AsyncCapabilityStream> stream);
  void OnSealed(const ObjectID& id);
  // `id` was removed unsealed: gets that fail on absent objects stop waiting for it.
  void OnAborted(const ObjectID& id);
  void FlushNotifications();
  void Send(std::shared_ptr<Subscriber> subscriber);
  // Stops notifying `subscriber`; idempotent (every failed send of a closing connection
  // reports the same subscriber).
  void Drop(Subscriber& subscriber);

  ObjectStore& store;
  kj::AsyncIoContext& io;
  const ServerOptions options;
  kj::Own<kj::ConnectionReceiver> listener;
  kj::Duration accept_backoff = kMinAcceptBackoff;
  Waiter::Registry waiters;
  std::list<std::shared_ptr<Subscriber>> subscribers;
  bool flush_scheduled = false;
  kj::TaskSet tasks{*this};
  // One task per connection, holding it; dropped (first) to disconnect everyone.
  kj::Own<kj::TaskSet> connections = kj::heap<kj::TaskSet>(*this);

  static constexpr kj::Duration kMinAcceptBackoff = 1 * kj::MILLISECONDS;
  static constexpr kj::Duration kMaxAcceptBackoff = 1 * kj::SECONDS;
  // IDs per `sealed` message, to keep one message small for a subscriber that catches up.
  static constexpr size_t kMaxSealsPerMessage = 1 << 16;
};

namespace {

class SessionImpl final : public rpc::Session::Server {
 public:
  SessionImpl(StoreServer::Impl& server, ClientId client,
              std::shared_ptr<ConnectionState> connection)
      : server_(server), client_(client), connection_(std::move(connection)) {
    ++connection_->sessions;
  }
  ~SessionImpl() {
    --connection_->sessions;
    server_.store.RemoveClient(client_);
  }

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
    auto snap = server_.store.CreateObject(client_, id, params.getSize(),
                                           {.evictable = params.getEvictable()});
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
                                ? server_.store.PutSealed(client_, id, AsSpan(put.getData()),
                                                          {.evictable = put.getEvictable()})
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
    waiter->fail_absent = params.getFailAbsent();
    for (const ObjectID& id : ids) {
      if (id.IsNil()) continue;
      auto snap = server_.store.Find(id);
      bool waits = snap ? snap->state == ObjectState::kCreated : !waiter->fail_absent;
      if (waits) waiter->WaitFor(id);
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
        if (!snap && server_.store.Find(ids[i])) {
          statuses[i].setCode(rpc::Code::NOT_SEALED);
          statuses[i].setMessage(absl::StrCat("object ", ids[i].Hex(), " is not sealed yet"));
        } else if (!snap) {
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
          ObjectID::FromBinary(AsView(raw), &id) ? server_.store.Delete(client_, id) : BadId();
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
    server_.subscribers.push_back(
        std::make_shared<Subscriber>(context.getParams().getListener(), connection_));
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

  static void FillFailures(const std::vector<std::pair<std::string, absl::Status>>& failures,
                           capnp::List<rpc::Failure>::Builder out) {
    for (size_t i = 0; i < failures.size(); ++i) {
      out[i].setId(AsData(failures[i].first));
      FillStatus(failures[i].second, out[i].initStatus());
    }
  }

  StoreServer::Impl& server_;
  ClientId client_;
  std::shared_ptr<ConnectionState> connection_;
};

// A session refused: the client sees `message` as the whole description (KJ_EXCEPTION would
// prefix it with the expression that made it). OVERLOADED for a cap; FAILED for a wrong
// owner token.
kj::Exception Refusal(std::string_view message,
                      kj::Exception::Type type = kj::Exception::Type::OVERLOADED) {
  return kj::Exception(type, __FILE__, __LINE__, kj::heapString(message.data(), message.size()));
}

class ObjectStoreImpl final : public rpc::ObjectStore::Server {
 public:
  ObjectStoreImpl(StoreServer::Impl& server, std::shared_ptr<ConnectionState> connection)
      : server_(server), connection_(std::move(connection)) {}

  kj::Promise<void> connect(ConnectContext context) override {
    uint32_t most = server_.options.max_sessions_per_connection;
    if (connection_->sessions >= most) {
      return Refusal(absl::StrCat("this connection already holds ", most,
                                  " sessions, the most the store allows "
                                  "(--max_sessions_per_connection)"));
    }
    auto params = context.getParams();
    auto client = server_.store.AddClient(params.getClientName(), AsView(params.getOwnerToken()));
    if (!client.ok()) {
      return Refusal(std::string(client.status().message()),
                     absl::IsPermissionDenied(client.status()) ? kj::Exception::Type::FAILED
                                                               : kj::Exception::Type::OVERLOADED);
    }
    context.getResults().setSession(kj::heap<SessionImpl>(server_, *client, connection_));
    return kj::READY_NOW;
  }

 private:
  StoreServer::Impl& server_;
  std::shared_ptr<ConnectionState> connection_;
};

// An accepted connection and the RPC system that serves it.
struct Connection {
  Connection(kj::Own<kj::AsyncCapabilityStream> stream, capnp::Capability::Client bootstrap)
      : stream(kj::mv(stream)),
        // Cap'n Proto 0.9 only attaches descriptors to outgoing messages when the connection
        // accepts some too; one per message is the least that enables it.
        network(*this->stream, /*maxFdsPerMessage=*/1, capnp::rpc::twoparty::Side::SERVER),
        rpc(capnp::makeRpcServer(network, kj::mv(bootstrap))) {}

  kj::Own<kj::AsyncCapabilityStream> stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
};

}  // namespace

kj::Promise<void> StoreServer::Impl::AcceptLoop() {
  // evalNow: KJ's accept throws at once when accept4 fails with EMFILE.
  return kj::evalNow([this] { return listener->accept(); })
      .then(
          [this](kj::Own<kj::AsyncIoStream>&& stream) {
            accept_backoff = kMinAcceptBackoff;
            Serve(kj::mv(stream).downcast<kj::AsyncCapabilityStream>());
            return AcceptLoop();
          },
          [this](kj::Exception&& e) {
            // Out of descriptors (EMFILE, ENFILE) or memory: the client stays in the backlog and is
            // accepted once a connection or session closes.
            if (accept_backoff == kMinAcceptBackoff) {
              KJ_LOG(WARNING, "cannot accept clients for now; retrying", e.getDescription());
            }
            kj::Duration delay = accept_backoff;
            accept_backoff = kj::min(accept_backoff * 2, kMaxAcceptBackoff);
            return io.provider->getTimer().afterDelay(delay).then([this] { return AcceptLoop(); });
          });
}

void StoreServer::Impl::Serve(kj::Own<kj::AsyncCapabilityStream> stream) {
  auto state = std::make_shared<ConnectionState>();
  auto closed = kj::newPromiseAndFulfiller<void>();
  state->closer = kj::mv(closed.fulfiller);
  auto connection = kj::heap<Connection>(kj::mv(stream), kj::heap<ObjectStoreImpl>(*this, state));
  kj::Promise<void> ended = connection->network.onDisconnect();
  connections->add(ended.exclusiveJoin(kj::mv(closed.promise)).attach(kj::mv(connection)));
}

void StoreServer::Impl::OnSealed(const ObjectID& id) {
  if (auto it = waiters.find(id); it != waiters.end()) {
    for (Waiter* waiter : it->second) {
      if (--waiter->missing == 0 && waiter->fulfiller) waiter->fulfiller->fulfill();
    }
    waiters.erase(it);
  }
  for (auto it = subscribers.begin(); it != subscribers.end();) {
    std::shared_ptr<Subscriber> subscriber = *it++;  // Drop erases it
    subscriber->unsent.push_back(id);
    if (subscriber->unsent.size() > options.max_unsent_seals) {
      KJ_LOG(WARNING, "closing the connection of a subscriber that reads no seal notifications",
             options.max_unsent_seals);
      if (auto connection = subscriber->connection.lock()) connection->Close();
      Drop(*subscriber);
    }
  }
  if (!subscribers.empty() && !flush_scheduled) {
    flush_scheduled = true;
    tasks.add(kj::evalLater([this] { FlushNotifications(); }));
  }
}

void StoreServer::Impl::OnAborted(const ObjectID& id) {
  auto it = waiters.find(id);
  if (it == waiters.end()) return;
  std::vector<Waiter*>& list = it->second;
  for (auto w = list.begin(); w != list.end();) {
    Waiter* waiter = *w;
    if (!waiter->fail_absent) {
      ++w;
      continue;
    }
    w = list.erase(w);
    std::erase(waiter->ids, id);
    if (--waiter->missing == 0 && waiter->fulfiller) waiter->fulfiller->fulfill();
  }
  if (list.empty()) waiters.erase(it);
}

void StoreServer::Impl::FlushNotifications() {
  flush_scheduled = false;
  for (const std::shared_ptr<Subscriber>& subscriber : subscribers) {
    if (!subscriber->sending && !subscriber->unsent.empty()) Send(subscriber);
  }
}

void StoreServer::Impl::Send(std::shared_ptr<Subscriber> subscriber) {
  std::vector<ObjectID>& unsent = subscriber->unsent;
  size_t count = std::min(unsent.size(), kMaxSealsPerMessage);
  auto request = subscriber->listener.sealedRequest();
  auto list = request.initIds(count);
  for (size_t i = 0; i < count; ++i) list.set(i, AsData(unsent[i].Binary()));
  unsent.erase(unsent.begin(), unsent.begin() + count);
  subscriber->sending = true;
  tasks.add(request.send().then(
      [this, subscriber] {
        subscriber->sending = false;
        if (!subscriber->dropped && !subscriber->unsent.empty()) Send(subscriber);
      },
      [this, subscriber](kj::Exception&&) { Drop(*subscriber); }));
}

void StoreServer::Impl::Drop(Subscriber& subscriber) {
  if (subscriber.dropped) return;
  subscriber.dropped = true;
  subscriber.unsent = {};
  subscribers.remove_if([&](const auto& s) { return s.get() == &subscriber; });
}

StoreServer::StoreServer(ObjectStore& store, kj::AsyncIoContext& io, const ServerOptions& options)
    : impl_(std::make_unique<Impl>(store, io, options)) {
  store.SetSealCallback([impl = impl_.get()](const ObjectID& id) { impl->OnSealed(id); });
  store.SetAbortCallback([impl = impl_.get()](const ObjectID& id) { impl->OnAborted(id); });
}

StoreServer::~StoreServer() {
  impl_->store.SetSealCallback(nullptr);
  impl_->store.SetAbortCallback(nullptr);
  // Disconnect every client and let the cancelled calls unwind now, while the state their
  // sessions need on the way out still exists (the event loop outlives this server).
  impl_->connections = nullptr;
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
  return impl_->AcceptLoop();
}

}  // namespace ray::store
