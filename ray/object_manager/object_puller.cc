#include "ray/object_manager/object_puller.h"

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ray/cluster/cluster_stream.h"
#include "ray/common/capnp_bytes.h"
#include "ray/common/event_loop_thread.h"
#include "ray/object_manager/pull_queue.h"
#include "ray/rpc/object_transfer.capnp.h"

namespace ray::object_manager {

using rpc::transfer::ObjectReader;
using rpc::transfer::ObjectTransfer;

namespace {

using ConnectResult = absl::StatusOr<ObjectTransfer::Client>;

// What the Pulls of one transfer wait on; shared between them and the puller's thread.
struct Waiting {
  absl::Mutex mu;
  int waiters ABSL_GUARDED_BY(mu) = 0;
  bool done ABSL_GUARDED_BY(mu) = false;
  absl::Status status ABSL_GUARDED_BY(mu);
};

// One object being copied; owned by the puller's thread.
struct Transfer {
  Transfer(uint64_t serial, const ObjectID& id, std::string source, int priority)
      : serial(serial), id(id), source(std::move(source)), priority(priority) {
    auto paf = kj::newPromiseAndFulfiller<void>();
    cancel = kj::mv(paf.fulfiller);
    cancelled = paf.promise.fork();
  }
  // The transfer's promises, cut short when it ends.
  kj::Promise<void> Bound(kj::Promise<void> promise) {
    return promise.exclusiveJoin(cancelled.addBranch());
  }

  const uint64_t serial;
  const ObjectID id;
  const std::string source;
  int priority;
  std::shared_ptr<Waiting> waiting = std::make_shared<Waiting>();
  std::optional<store::MutableObject> object;  // created in the local store, not sealed
  uint64_t size = 0;
  uint64_t next_offset = 0;  // of the next chunk to ask for
  uint64_t received = 0;
  ObjectReader::Client reader = nullptr;
  kj::Own<kj::PromiseFulfiller<void>> cancel;
  kj::ForkedPromise<void> cancelled = nullptr;
};

// A cached connection to one source.
struct Connection {
  ~Connection() {
    ready = nullptr;  // in the order they depend on each other
    server = nullptr;
    rpc = nullptr;
    stream = nullptr;
  }
  uint64_t serial = 0;
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> rpc;
  ObjectTransfer::Client server = nullptr;          // the bootstrap capability, once ready
  kj::ForkedPromise<absl::Status> ready = nullptr;  // the connection and the token's check
};

}  // namespace

// `store`, `options`, `thread`, `executor` and the counters are set before the thread runs or
// are atomic; the rest belongs to the puller's thread.
struct ObjectPuller::Loop : public kj::TaskSet::ErrorHandler {
  Loop(store::StoreClient& store, ObjectPullerOptions options)
      : store(store),
        options(std::move(options)),
        queue(this->options.chunk_bytes, this->options.max_bytes_in_flight) {}
  void taskFailed(kj::Exception&& e) override {
    fprintf(stderr, "ray object puller: %s\n", e.getDescription().cStr());
  }

  std::pair<uint64_t, std::shared_ptr<Waiting>> Join(const ObjectID& id, const std::string& source,
                                                     int priority);
  void Abandon(uint64_t serial);
  void Shutdown();
  kj::Promise<ConnectResult> Connect(const std::string& address);
  kj::Promise<ConnectResult> Ready(const std::string& address, Connection& c);
  absl::Status Accepted(Connection& c, const std::string& address,
                        kj::Own<kj::AsyncIoStream> stream);
  void Forget(const std::string& address, uint64_t connection);
  void Start(Transfer& t);
  void Opened(uint64_t serial, capnp::Response<ObjectTransfer::OpenResults>& response);
  void Pump();
  void Arrived(uint64_t serial, uint64_t offset, uint32_t length, capnp::Data::Reader data);
  void End(Transfer& t, absl::Status status);
  Transfer* Find(uint64_t serial) {
    auto it = transfers.find(serial);
    return it == transfers.end() ? nullptr : it->second.get();
  }
  absl::Status Failure(const Transfer& t, const std::string& why) {
    return absl::UnavailableError(
        absl::StrCat("cannot pull object ", t.id.Hex(), " from ", t.source, ": ", why));
  }

  store::StoreClient& store;
  const ObjectPullerOptions options;
  std::atomic<uint64_t> transfers_started{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> connections_opened{0};
  std::atomic<uint64_t> peak_bytes_in_flight{0};
  std::atomic<uint64_t> copy_nanoseconds{0};

  kj::AsyncIoContext* io = nullptr;
  kj::Own<kj::TaskSet> tasks;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Transfer>> transfers;  // by serial
  absl::flat_hash_map<ObjectID, uint64_t> by_id;
  absl::flat_hash_map<std::string, std::unique_ptr<Connection>> connections;
  PullQueue queue;
  uint64_t serials = 0;
  std::unique_ptr<EventLoopThread> thread;  // last: stopped first
};

std::pair<uint64_t, std::shared_ptr<Waiting>> ObjectPuller::Loop::Join(const ObjectID& id,
                                                                       const std::string& source,
                                                                       int priority) {
  Transfer* t;
  if (auto it = by_id.find(id); it != by_id.end()) {
    t = Find(it->second);
    if (priority < t->priority) {
      t->priority = priority;
      if (queue.Contains(t->serial)) queue.Add(t->serial, priority);
    }
  } else {
    uint64_t serial = ++serials;
    auto owned = std::make_unique<Transfer>(serial, id, source, priority);
    t = owned.get();
    transfers.emplace(serial, std::move(owned));
    by_id.emplace(id, serial);
    ++transfers_started;
    Start(*t);  // its continuations run on later turns of the loop
  }
  absl::MutexLock lock(&t->waiting->mu);
  ++t->waiting->waiters;
  return {t->serial, t->waiting};
}

void ObjectPuller::Loop::Abandon(uint64_t serial) {
  Transfer* t = Find(serial);
  if (t == nullptr) return;
  {
    absl::MutexLock lock(&t->waiting->mu);
    if (t->waiting->waiters > 0) return;
  }
  End(*t, absl::DeadlineExceededError("no Pull waits for it any more"));
}

void ObjectPuller::Loop::Shutdown() {
  std::vector<uint64_t> serials;
  for (auto& [serial, t] : transfers) serials.push_back(serial);
  for (uint64_t serial : serials) {
    if (Transfer* t = Find(serial)) End(*t, absl::CancelledError("the object puller stopped"));
  }
}

kj::Promise<ConnectResult> ObjectPuller::Loop::Connect(const std::string& address) {
  if (auto it = connections.find(address); it != connections.end()) {
    return Ready(address, *it->second);
  }
  auto owned = std::make_unique<Connection>();
  Connection* c = owned.get();
  c->serial = ++serials;
  ++connections_opened;
  auto bounded =
      cluster::ConnectCluster(*io->provider, address, options.credentials, options.connect_timeout,
                              "the object server")
          .then([this, c, address](absl::StatusOr<kj::Own<kj::AsyncIoStream>> stream) {
            if (!stream.ok()) return stream.status();
            return Accepted(*c, address, *std::move(stream));
          })
          .then([this, address, serial = c->serial](absl::Status result) {
            if (!result.ok()) {
              tasks->add(kj::evalLater([this, address, serial] { Forget(address, serial); }));
            }
            return result;
          });
  c->ready = bounded.fork();
  connections.emplace(address, std::move(owned));
  return Ready(address, *c);
}

kj::Promise<ConnectResult> ObjectPuller::Loop::Ready(const std::string& address, Connection& c) {
  return c.ready.addBranch().then([this, address, serial = c.serial](absl::Status status) {
    if (!status.ok()) return ConnectResult(status);
    auto it = connections.find(address);
    if (it == connections.end() || it->second->serial != serial) {
      return ConnectResult(absl::UnavailableError(
          absl::StrCat("the connection to the object server at ", address, " closed")));
    }
    return ConnectResult(it->second->server);
  });
}

absl::Status ObjectPuller::Loop::Accepted(Connection& c, const std::string& address,
                                          kj::Own<kj::AsyncIoStream> stream) {
  c.stream = kj::mv(stream);
  c.rpc = kj::heap<capnp::TwoPartyClient>(*c.stream);
  c.server = c.rpc->bootstrap().castAs<ObjectTransfer>();
  tasks->add(
      c.rpc->onDisconnect().catch_([](kj::Exception&&) {}).then([this, address, serial = c.serial] {
        // Not from inside the connection's own promises.
        tasks->add(kj::evalLater([this, address, serial] { Forget(address, serial); }));
      }));
  return absl::OkStatus();
}

void ObjectPuller::Loop::Forget(const std::string& address, uint64_t connection) {
  auto it = connections.find(address);
  if (it != connections.end() && it->second->serial == connection) connections.erase(it);
}

void ObjectPuller::Loop::Start(Transfer& t) {
  uint64_t serial = t.serial;
  auto opened =
      Connect(t.source)
          .then([this, serial](ConnectResult server) -> kj::Promise<void> {
            Transfer* t = Find(serial);
            if (t == nullptr) return kj::READY_NOW;
            if (!server.ok()) {
              absl::Status status = server.status();
              End(*t, absl::Status(status.code(), absl::StrCat("cannot pull object ", t->id.Hex(),
                                                               ": ", status.message())));
              return kj::READY_NOW;
            }
            auto request = server->openRequest();
            request.setId(AsData(t->id.Binary()));
            return request.send().then(
                [this, serial](capnp::Response<ObjectTransfer::OpenResults>&& response) {
                  Opened(serial, response);
                });
          })
          .catch_([this, serial](kj::Exception&& e) {
            if (Transfer* t = Find(serial)) End(*t, Failure(*t, e.getDescription().cStr()));
          });
  tasks->add(t.Bound(kj::mv(opened)));
}

void ObjectPuller::Loop::Opened(uint64_t serial,
                                capnp::Response<ObjectTransfer::OpenResults>& response) {
  Transfer* t = Find(serial);
  if (t == nullptr) return;
  if (!response.getFound()) {
    End(*t, absl::NotFoundError(absl::StrCat(response.getError().cStr(), " at ", t->source)));
    return;
  }
  t->size = response.getSize();
  auto created = store.Create(t->id, t->size, options.object_options);
  if (!created.ok()) {
    // AlreadyExists: another client of the store makes it; the Pulls wait for it there.
    End(*t, created.status().code() == absl::StatusCode::kAlreadyExists ? absl::OkStatus()
                                                                        : created.status());
    return;
  }
  t->object = *std::move(created);
  if (t->size == 0) {
    End(*t, absl::OkStatus());
    return;
  }
  t->reader = response.getReader();
  queue.Add(serial, t->priority);
  Pump();
}

void ObjectPuller::Loop::Pump() {
  while (std::optional<uint64_t> serial = queue.Next()) {
    Transfer& t = *Find(*serial);
    uint64_t offset = t.next_offset;
    uint32_t length = static_cast<uint32_t>(
        std::min<uint64_t>({options.chunk_bytes, rpc::transfer::MAX_READ_BYTES, t.size - offset}));
    t.next_offset += length;
    if (t.next_offset == t.size) queue.Remove(t.serial);
    queue.Charge(length);
    peak_bytes_in_flight.store(queue.peak(), std::memory_order_relaxed);
    auto request = t.reader.readRequest();
    request.setOffset(offset);
    request.setLength(length);
    auto read = request.send().then(
        [this, serial = t.serial, offset, length](capnp::Response<ObjectReader::ReadResults>&& r) {
          Arrived(serial, offset, length, r.getData());
        },
        [this, serial = t.serial](kj::Exception&& e) {
          if (Transfer* t = Find(serial)) End(*t, Failure(*t, e.getDescription().cStr()));
        });
    // The budget comes back when the chunk is written, or given up when the transfer ends.
    tasks->add(t.Bound(kj::mv(read)).then([this, length] {
      queue.Release(length);
      Pump();
    }));
  }
}

void ObjectPuller::Loop::Arrived(uint64_t serial, uint64_t offset, uint32_t length,
                                 capnp::Data::Reader data) {
  Transfer* t = Find(serial);
  if (t == nullptr) return;
  if (data.size() != length) {
    End(*t, Failure(*t, absl::StrCat("the source sent ", data.size(), " bytes at offset ", offset,
                                     " instead of ", length)));
    return;
  }
  auto start = std::chrono::steady_clock::now();
  std::memcpy(t->object->data() + offset, data.begin(), length);
  copy_nanoseconds.fetch_add(
      std::chrono::nanoseconds(std::chrono::steady_clock::now() - start).count(),
      std::memory_order_relaxed);
  t->received += length;
  bytes_received.fetch_add(length, std::memory_order_relaxed);
  if (t->received == t->size) End(*t, absl::OkStatus());
}

void ObjectPuller::Loop::End(Transfer& t, absl::Status status) {
  if (t.object) {
    // Sealed only when whole; otherwise nothing of it stays in the store.
    absl::Status done = status.ok() && t.received == t.size ? store.Seal(*std::move(t.object))
                                                            : store.Abort(*std::move(t.object));
    t.object.reset();
    if (status.ok()) status = done;
  }
  queue.Remove(t.serial);
  if (auto it = by_id.find(t.id); it != by_id.end() && it->second == t.serial) by_id.erase(it);
  t.reader = nullptr;  // the source unpins the object
  t.cancel->fulfill();
  {
    absl::MutexLock lock(&t.waiting->mu);
    t.waiting->done = true;
    t.waiting->status = std::move(status);
  }
  transfers.erase(t.serial);
}

ObjectPuller::ObjectPuller(store::StoreClient& store, ObjectPullerOptions options)
    : store_(store), loop_(std::make_unique<Loop>(store, std::move(options))) {
  Loop* l = loop_.get();
  l->thread = std::make_unique<EventLoopThread>(
      [l](kj::AsyncIoContext& io) {
        l->io = &io;
        l->tasks = kj::heap<kj::TaskSet>(*l);
      },
      [l] {
        l->tasks = nullptr;  // in the order they depend on each other
        l->transfers.clear();
        l->connections.clear();
        l->io = nullptr;
      });
}

ObjectPuller::~ObjectPuller() {
  loop_->thread->executor().executeSync([l = loop_.get()] { l->Shutdown(); });
  loop_->thread.reset();
}

namespace {

// Waits for the transfer `serial` that Join gave, then for the object's seal in the store;
// `again` if it is to be pulled again (another client created it and gave it up).
absl::Status Finish(ObjectPuller::Loop& loop, store::StoreClient& store, const ObjectID& id,
                    const std::string& source_address, uint64_t serial, Waiting& waiting,
                    absl::Time deadline, bool& again) {
  again = false;
  absl::Status status;
  bool abandon = false;
  {
    absl::MutexLock lock(&waiting.mu);
    bool done = waiting.mu.AwaitWithDeadline(absl::Condition(&waiting.done), deadline);
    --waiting.waiters;
    if (done) {
      status = waiting.status;
    } else {
      status = absl::DeadlineExceededError(absl::StrCat(
          "object ", id.Hex(), " did not arrive from ", source_address, " by the deadline"));
      abandon = waiting.waiters == 0;
    }
  }
  if (abandon) loop.thread->executor().executeSync([&] { loop.Abandon(serial); });
  if (!status.ok()) return status;
  // Sealed here, by this puller or another client of the store: wait until the store shows it
  // (a seal travels in the store client's batches).
  absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
  auto sealed = store.Get(id, left, store::StoreClient::IfAbsent::kFail);
  if (sealed.ok()) return absl::OkStatus();
  // NotFound: another client created it and then gave it up; pull it again.
  if (sealed.status().code() != absl::StatusCode::kNotFound) return sealed.status();
  if (absl::Now() >= deadline) {
    return absl::DeadlineExceededError(
        absl::StrCat("object ", id.Hex(), " did not arrive by the deadline"));
  }
  again = true;
  return absl::OkStatus();
}

}  // namespace

absl::Status ObjectPuller::Pull(const ObjectID& id, const std::string& source_address,
                                PullPriority priority, absl::Time deadline) {
  ObjectSource object{id, source_address};
  return PullAll({&object, 1}, priority, deadline)[0];
}

std::vector<absl::Status> ObjectPuller::PullAll(std::span<const ObjectSource> objects,
                                                PullPriority priority, absl::Time deadline) {
  std::vector<absl::Status> statuses(objects.size());
  std::vector<size_t> pending(objects.size());
  for (size_t i = 0; i < objects.size(); ++i) pending[i] = i;
  while (!pending.empty()) {
    std::vector<size_t> absent;
    for (size_t i : pending) {
      if (auto local = store_.TryGet(objects[i].id)) {
        statuses[i] = local->status();
      } else {
        absent.push_back(i);
      }
    }
    // Every transfer starts before any is waited for.
    std::vector<std::pair<uint64_t, std::shared_ptr<Waiting>>> joined;
    loop_->thread->executor().executeSync([&] {
      for (size_t i : absent) {
        joined.push_back(
            loop_->Join(objects[i].id, objects[i].address, static_cast<int>(priority)));
      }
    });
    pending.clear();
    for (size_t k = 0; k < absent.size(); ++k) {
      const ObjectSource& object = objects[absent[k]];
      bool again = false;
      statuses[absent[k]] = Finish(*loop_, store_, object.id, object.address, joined[k].first,
                                   *joined[k].second, deadline, again);
      if (again) pending.push_back(absent[k]);
    }
  }
  return statuses;
}

ObjectPullerStats ObjectPuller::stats() const {
  return {loop_->transfers_started.load(), loop_->bytes_received.load(),
          loop_->connections_opened.load(), loop_->peak_bytes_in_flight.load(),
          loop_->copy_nanoseconds.load()};
}

}  // namespace ray::object_manager
