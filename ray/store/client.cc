#include "ray/store/client.h"

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <kj/debug.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ray/faults/fault_injection.h"
#include "ray/store/object_index.h"
#include "ray/store/shared_memory.h"
#include "ray/store/store.capnp.h"
#include "ray/store/wire.h"

namespace ray::store {

// The store's memory as mapped here; shared by the client and the buffers it handed out, so
// a buffer stays valid even after its client is gone.
struct ClientMapping {
  SharedMemory arena;
  SharedMemory index_memory;
  SharedMemory pin_memory;
  std::optional<ObjectIndex> index;
  std::weak_ptr<StoreClient::Impl> client;

  std::atomic<uint32_t>* pins() const {
    return reinterpret_cast<std::atomic<uint32_t>*>(pin_memory.data());
  }
  void Unpin(uint32_t record);
};

namespace {

// Bytes of small puts sent and not yet acknowledged before Put waits: bounds the client's
// memory and keeps each batch message well under Cap'n Proto's size limits.
constexpr size_t kMaxUnackedBytes = 16 << 20;

// The store refused a session (its caps, or out of descriptors): OVERLOADED.
// The store refuses a session as OVERLOADED (a cap) or FAILED (a wrong owner token).
absl::Status ConnectError(const kj::Exception& e) {
  if (e.getType() == kj::Exception::Type::OVERLOADED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the object store refused a new session: ", e.getDescription().cStr()));
  }
  if (e.getType() == kj::Exception::Type::FAILED) {
    return absl::PermissionDeniedError(
        absl::StrCat("the object store refused a new session: ", e.getDescription().cStr()));
  }
  return absl::UnavailableError(
      absl::StrCat("object store connection: ", e.getDescription().cStr()));
}

absl::Status Unavailable(const kj::Exception& e) {
  return absl::UnavailableError(
      absl::StrCat("object store connection: ", e.getDescription().cStr()));
}

// Connects by `deadline`: retries while the socket does not exist yet, refuses (no store
// listens) or has its backlog full (a store that does not accept).
absl::StatusOr<int> ConnectUnixSocket(const std::string& path, absl::Time deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  for (absl::Duration backoff = absl::Milliseconds(1);;
       backoff = std::min(backoff * 2, absl::Milliseconds(50))) {
    // Non-blocking: a full backlog fails with EAGAIN instead of blocking past the deadline.
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return fd;
    int err = errno;
    close(fd);
    bool retry = err == ENOENT || err == ECONNREFUSED || err == EAGAIN;
    if (!retry || absl::Now() > deadline) {
      std::string message =
          absl::StrCat("cannot connect to the object store at ", path, ": ", std::strerror(err));
      // EAGAIN: a store listens but does not accept.
      return err == EAGAIN ? absl::DeadlineExceededError(message) : absl::UnavailableError(message);
    }
    absl::SleepFor(std::min(backoff, deadline - absl::Now()));
  }
}

// `promise`, or an exception (and `*timed_out` set) if `deadline` comes first.
template <typename T>
kj::Promise<T> UntilDeadline(kj::Timer& timer, absl::Time deadline, kj::Promise<T> promise,
                             bool* timed_out) {
  // Clamped so that an infinite timeout does not overflow the timer's clock.
  int64_t left =
      std::clamp<int64_t>(absl::ToInt64Nanoseconds(deadline - absl::Now()), 0, int64_t{1} << 60);
  return promise.exclusiveJoin(
      timer.afterDelay(left * kj::NANOSECONDS).then([timed_out]() -> kj::Promise<T> {
        *timed_out = true;
        return KJ_EXCEPTION(DISCONNECTED, "no answer");
      }));
}

class SealListenerImpl final : public rpc::SealListener::Server {
 public:
  explicit SealListenerImpl(std::function<void(std::span<const ObjectID>)> callback)
      : callback_(std::move(callback)) {}
  kj::Promise<void> sealed(SealedContext context) override {
    std::vector<ObjectID> ids;
    for (auto raw : context.getParams().getIds())
      ids.push_back(ObjectID::FromBinaryOrNil(AsView(raw)));
    callback_(ids);
    return kj::READY_NOW;
  }

 private:
  std::function<void(std::span<const ObjectID>)> callback_;
};

}  // namespace

// The connection: a thread running a KJ event loop that owns the RPC session. Other threads
// reach it through its executor, or (for batched operations) through a queue and an eventfd.
struct StoreClient::Impl : public kj::TaskSet::ErrorHandler {
  ~Impl() {
    if (thread.joinable()) {
      {
        absl::MutexLock lock(&mu);
        stopping = true;
      }
      Wake();
      thread.join();
    }
    if (wake_fd >= 0) close(wake_fd);
  }

  void taskFailed(kj::Exception&& e) override { RecordError(Unavailable(e)); }

  // Runs on the I/O thread for the client's lifetime.
  void Run(int socket_fd, std::promise<absl::Status> started);
  void RunLoop(int socket_fd, std::promise<absl::Status> started);
  kj::Promise<void> WatchQueue(kj::UnixEventPort::FdObserver& observer);
  // I/O thread: sends everything queued, in one message.
  void SendBatch();
  template <typename Func>
  auto OnIoThread(Func&& func) {
    return executor->executeSync([&] {
      SendBatch();
      return func();
    });
  }

  void Wake() {
    uint64_t one = 1;
    (void)!write(wake_fd, &one, sizeof(one));
  }
  void RecordError(absl::Status status) {
    absl::MutexLock lock(&mu);
    if (first_error.ok()) first_error = std::move(status);
  }
  void Enqueue(absl::FunctionRef<void()> add, size_t bytes);

  std::shared_ptr<ClientMapping> mapping;
  std::string name;
  std::string owner_token;
  absl::Time connect_deadline;
  uint64_t capacity = 0;
  std::thread thread;
  kj::Own<const kj::Executor> executor;
  int wake_fd = -1;
  // I/O thread only:
  kj::Maybe<rpc::Session::Client> session;
  kj::Own<kj::TaskSet> tasks;

  absl::Mutex mu;
  struct QueuedPut {
    ObjectID id;
    size_t offset;
    size_t size;
    bool evictable;
  };
  std::string put_bytes ABSL_GUARDED_BY(mu);
  std::vector<QueuedPut> puts ABSL_GUARDED_BY(mu);
  std::vector<ObjectID> seals ABSL_GUARDED_BY(mu);
  std::vector<uint32_t> released ABSL_GUARDED_BY(mu);
  uint64_t ops_queued ABSL_GUARDED_BY(mu) = 0;
  uint64_t ops_done ABSL_GUARDED_BY(mu) = 0;
  size_t bytes_in_flight ABSL_GUARDED_BY(mu) = 0;
  bool wake_pending ABSL_GUARDED_BY(mu) = false;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  bool io_stopped ABSL_GUARDED_BY(mu) = false;  // the I/O thread has ended: nothing more is sent
  absl::Status first_error ABSL_GUARDED_BY(mu);
};

void ClientMapping::Unpin(uint32_t record) {
  if (pins()[record].fetch_sub(1) != 1) return;
  if ((index->record(record).flags.load(std::memory_order_relaxed) & kDeletePending) == 0) return;
  if (auto impl = client.lock()) {
    impl->Enqueue(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->mu) { impl->released.push_back(record); }, 0);
  }
}

void StoreClient::Impl::Enqueue(absl::FunctionRef<void()> add, size_t bytes) {
  bool wake;
  {
    absl::MutexLock lock(&mu);
    // Only puts wait for room: seals and releases may come from the I/O thread itself.
    auto has_room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return bytes_in_flight < kMaxUnackedBytes || io_stopped;
    };
    if (bytes > 0) mu.Await(absl::Condition(&has_room));
    add();
    ++ops_queued;
    bytes_in_flight += bytes;
    wake = !wake_pending;
    wake_pending = true;
  }
  if (wake) Wake();
}

void StoreClient::Impl::SendBatch() {
  std::string bytes;
  std::vector<QueuedPut> batch_puts;
  std::vector<ObjectID> batch_seals;
  std::vector<uint32_t> batch_released;
  {
    absl::MutexLock lock(&mu);
    wake_pending = false;
    if (puts.empty() && seals.empty() && released.empty()) return;
    bytes.swap(put_bytes);
    batch_puts.swap(puts);
    batch_seals.swap(seals);
    batch_released.swap(released);
  }
  size_t ops = batch_puts.size() + batch_seals.size() + batch_released.size();
  auto finish = [this, ops, n = bytes.size()](absl::Status status) {
    absl::MutexLock lock(&mu);
    ops_done += ops;
    bytes_in_flight -= n;
    if (first_error.ok()) first_error = std::move(status);
  };
  rpc::Session::Client* s = nullptr;
  KJ_IF_MAYBE (live, session) {
    s = live;
  }
  if (s == nullptr) {
    finish(absl::UnavailableError("object store connection is closed"));
    return;
  }
  auto request = s->applyRequest();
  auto list = request.initPuts(batch_puts.size());
  for (size_t i = 0; i < batch_puts.size(); ++i) {
    list[i].setId(AsData(batch_puts[i].id.Binary()));
    list[i].setData(
        AsData(std::string_view(bytes).substr(batch_puts[i].offset, batch_puts[i].size)));
    list[i].setEvictable(batch_puts[i].evictable);
  }
  auto seal_list = request.initSeals(batch_seals.size());
  for (size_t i = 0; i < batch_seals.size(); ++i) seal_list.set(i, AsData(batch_seals[i].Binary()));
  auto released_list = request.initReleased(batch_released.size());
  for (size_t i = 0; i < batch_released.size(); ++i) released_list.set(i, batch_released[i]);
  tasks->add(request.send().then(
      [finish](capnp::Response<rpc::Session::ApplyResults>&& response) {
        absl::Status status;
        auto failures = response.getFailures();
        if (failures.size() > 0) status = ToStatus(failures[0].getStatus());
        finish(status);
      },
      [finish](kj::Exception&& e) { finish(Unavailable(e)); }));
}

kj::Promise<void> StoreClient::Impl::WatchQueue(kj::UnixEventPort::FdObserver& observer) {
  return observer.whenBecomesReadable().then([this, &observer]() -> kj::Promise<void> {
    uint64_t count;
    (void)!read(wake_fd, &count, sizeof(count));
    SendBatch();
    {
      absl::MutexLock lock(&mu);
      if (stopping) return kj::READY_NOW;
    }
    return WatchQueue(observer);
  });
}

void StoreClient::Impl::Run(int socket_fd, std::promise<absl::Status> started) {
  RunLoop(socket_fd, std::move(started));
  absl::MutexLock lock(&mu);
  io_stopped = true;
  ops_done = ops_queued;  // whatever is still queued will never be sent
  if (first_error.ok() && !puts.empty()) {
    first_error = absl::UnavailableError("object store connection closed with puts unsent");
  }
}

void StoreClient::Impl::RunLoop(int socket_fd, std::promise<absl::Status> started) {
  bool timed_out = false;
  try {
    auto io = kj::setupAsyncIo();
    tasks = kj::heap<kj::TaskSet>(*this);
    auto stream = io.lowLevelProvider->wrapUnixSocketFd(
        socket_fd,
        kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP | kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
    capnp::TwoPartyClient rpc_client(*stream, /*maxFdsPerMessage=*/3);
    auto store = rpc_client.bootstrap().castAs<rpc::ObjectStore>();
    auto connect = store.connectRequest();
    connect.setClientName(name);
    connect.setOwnerToken(AsData(owner_token));
    rpc::Session::Client live = connect.send().getSession();
    // Every step of the handshake waits for the store at most until the connect deadline.
    auto bounded = [&](auto&& promise) {
      return UntilDeadline(io.provider->getTimer(), connect_deadline, kj::mv(promise), &timed_out)
          .wait(io.waitScope);
    };
    auto memory = bounded(live.memoryRequest().send());
    auto map = [&](rpc::SharedFile::Client file, bool writable) -> absl::StatusOr<SharedMemory> {
      uint64_t size = bounded(file.sizeRequest().send()).getSize();
      KJ_IF_MAYBE (fd, bounded(file.getFd())) {
        return SharedMemory::Map(dup(*fd), size, writable);
      }
      return absl::InternalError("the store sent no descriptor for its shared memory");
    };
    auto arena = map(memory.getArena(), true);
    auto index_memory = map(memory.getIndex(), true);
    auto pin_memory = map(memory.getPins(), true);
    for (auto* m : {&arena, &index_memory, &pin_memory}) {
      if (!m->ok()) {
        started.set_value(m->status());
        return;
      }
    }
    mapping->arena = *std::move(arena);
    // As the store does: 2 MiB mappings where the kernel allows THP for shared memory.
    (void)madvise(mapping->arena.data(), mapping->arena.size(), MADV_HUGEPAGE);
    mapping->index_memory = *std::move(index_memory);
    mapping->pin_memory = *std::move(pin_memory);
    mapping->index =
        ObjectIndex::Attach(mapping->index_memory.data(), mapping->index_memory.size());
    if (!mapping->index) {
      started.set_value(absl::InternalError("the store's index is not in the expected format"));
      return;
    }
    capacity = memory.getCapacity();
    session = kj::mv(live);
    executor = kj::getCurrentThreadExecutor().addRef();
    kj::UnixEventPort::FdObserver observer(io.unixEventPort, wake_fd,
                                           kj::UnixEventPort::FdObserver::OBSERVE_READ);
    started.set_value(absl::OkStatus());
    WatchQueue(observer).wait(io.waitScope);
    // Stopping: let the last batch go out before the connection closes.
    SendBatch();
    session = nullptr;
    tasks = nullptr;
  } catch (const kj::Exception& e) {
    try {
      started.set_value(timed_out
                            ? absl::DeadlineExceededError(absl::StrCat(
                                  "the object store did not answer within the connect timeout: ",
                                  e.getDescription().cStr()))
                            : ConnectError(e));
    } catch (const std::future_error&) {
    }
  }
}

StoreClient::StoreClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoreClient::~StoreClient() {
  (void)Flush();  // what was put before the disconnect reaches the store
}

absl::StatusOr<std::unique_ptr<StoreClient>> StoreClient::Connect(
    const std::string& socket_path, const StoreClientOptions& options) {
  absl::Time deadline = absl::Now() + options.connect_timeout;
  auto fd = ConnectUnixSocket(socket_path, deadline);
  if (!fd.ok()) return fd.status();
  auto impl = std::make_shared<Impl>();
  impl->connect_deadline = deadline;
  impl->mapping = std::make_shared<ClientMapping>();
  impl->mapping->client = impl;
  impl->name = options.name;
  impl->owner_token = options.owner_token;
  impl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::promise<absl::Status> started;
  auto started_future = started.get_future();
  impl->thread = std::thread([impl = impl.get(), fd = *fd, started = std::move(started)]() mutable {
    impl->Run(fd, std::move(started));
  });
  absl::Status status = started_future.get();
  if (!status.ok()) return status;  // ~Impl joins the thread
  return std::unique_ptr<StoreClient>(new StoreClient(std::move(impl)));
}

uint64_t StoreClient::capacity() const { return impl_->capacity; }

absl::StatusOr<MutableObject> StoreClient::Create(const ObjectID& id, uint64_t size,
                                                  ObjectOptions options) {
  if (faults::At("store.create") == faults::Action::kRefuse) {
    return absl::ResourceExhaustedError("ObjectStoreFull: refused (fault injection)");
  }
  if (size > impl_->capacity) {
    return absl::ResourceExhaustedError(absl::StrCat("ObjectStoreFull: object of ", size,
                                                     " bytes exceeds the store's capacity of ",
                                                     impl_->capacity));
  }
  try {
    return impl_->OnIoThread([&]() -> kj::Promise<absl::StatusOr<MutableObject>> {
      KJ_IF_MAYBE (s, impl_->session) {
        auto request = s->createRequest();
        request.setId(AsData(id.Binary()));
        request.setSize(size);
        request.setEvictable(options.evictable);
        return request.send().then([this, id](auto&& response) -> absl::StatusOr<MutableObject> {
          absl::Status status = ToStatus(response.getStatus());
          if (!status.ok()) return status;
          auto location = response.getLocation();
          if (location.getOffset() + location.getSize() > impl_->mapping->arena.size()) {
            return absl::InternalError("the store sent a location outside its arena");
          }
          MutableObject object;
          object.client_ = this;
          object.id_ = id;
          object.record_ = location.getRecord();
          object.data_ = impl_->mapping->arena.data() + location.getOffset();
          object.size_ = location.getSize();
          return object;
        });
      }
      return absl::StatusOr<MutableObject>(
          absl::UnavailableError("object store connection is closed"));
    });
  } catch (const kj::Exception& e) {
    return Unavailable(e);
  }
}

absl::Status StoreClient::Seal(MutableObject object) {
  if (object.client_ != this) return absl::InvalidArgumentError("object of another client");
  object.client_ = nullptr;
  // A seal stuck on its way: the object stays created (and the creator's pin held) for good.
  if (faults::At("store.seal") == faults::Action::kStall) return absl::OkStatus();
  impl_->Enqueue(
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl_->mu) { impl_->seals.push_back(object.id_); }, 0);
  impl_->mapping->Unpin(object.record_);  // the creator's pin
  return absl::OkStatus();
}

absl::Status StoreClient::Abort(MutableObject object) {
  if (object.client_ != this) return absl::InvalidArgumentError("object of another client");
  object.client_ = nullptr;
  try {
    return impl_->OnIoThread([&]() -> kj::Promise<absl::Status> {
      KJ_IF_MAYBE (s, impl_->session) {
        auto request = s->abortRequest();
        request.setId(AsData(object.id_.Binary()));
        return request.send().then([](auto&& response) { return ToStatus(response.getStatus()); });
      }
      return absl::UnavailableError("object store connection is closed");
    });
  } catch (const kj::Exception& e) {
    return Unavailable(e);
  }
}

absl::Status StoreClient::Put(const ObjectID& id, std::span<const uint8_t> data,
                              ObjectOptions options) {
  if (id.IsNil()) return absl::InvalidArgumentError("Put of the nil object ID");
  if (data.size() > kSmallObjectLimit) {
    auto object = Create(id, data.size(), options);
    if (!object.ok()) return object.status();
    std::memcpy(object->data(), data.data(), data.size());
    return Seal(*std::move(object));
  }
  impl_->Enqueue(
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl_->mu) {
        impl_->puts.push_back({id, impl_->put_bytes.size(), data.size(), options.evictable});
        impl_->put_bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
      },
      data.size());
  return absl::OkStatus();
}

absl::Status StoreClient::Flush() {
  absl::MutexLock lock(&impl_->mu);
  uint64_t target = impl_->ops_queued;
  if (!impl_->wake_pending) {
    impl_->wake_pending = true;
    impl_->Wake();
  }
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl_->mu) {
    return impl_->ops_done >= target || impl_->io_stopped;
  };
  impl_->mu.Await(absl::Condition(&done));
  return std::exchange(impl_->first_error, absl::OkStatus());
}

std::vector<absl::StatusOr<ObjectBuffer>> StoreClient::Get(std::span<const ObjectID> ids,
                                                           absl::Duration timeout,
                                                           IfAbsent if_absent) {
  std::vector<absl::StatusOr<ObjectBuffer>> results;
  results.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) results.emplace_back(absl::UnknownError("unset"));
  std::vector<size_t> missing;
  ClientMapping& m = *impl_->mapping;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (auto local = TryGet(ids[i])) {
      results[i] = *std::move(local);
    } else {
      missing.push_back(i);
    }
  }
  if (missing.empty()) return results;

  int64_t timeout_ms =
      timeout == absl::InfiniteDuration() ? -1 : absl::ToInt64Milliseconds(timeout);
  if (timeout_ms < -1) timeout_ms = 0;
  try {
    impl_->OnIoThread([&]() -> kj::Promise<void> {
      KJ_IF_MAYBE (s, impl_->session) {
        auto request = s->getRequest();
        auto list = request.initIds(missing.size());
        for (size_t j = 0; j < missing.size(); ++j) list.set(j, AsData(ids[missing[j]].Binary()));
        request.setTimeoutMs(timeout_ms);
        request.setFailAbsent(if_absent == IfAbsent::kFail);
        return request.send().then([&](capnp::Response<rpc::Session::GetResults>&& response) {
          auto locations = response.getLocations();
          auto statuses = response.getStatuses();
          for (size_t j = 0; j < missing.size() && j < statuses.size(); ++j) {
            size_t i = missing[j];
            absl::Status status = ToStatus(statuses[j]);
            bool waited =
                statuses[j].getCode() == rpc::Code::NOT_SEALED ||
                (status.code() == absl::StatusCode::kNotFound && if_absent == IfAbsent::kWait);
            if (waited) {
              status = absl::DeadlineExceededError(absl::StrCat("object ", ids[i].Hex(),
                                                                " was not sealed within ",
                                                                absl::FormatDuration(timeout)));
            }
            auto location = locations[j];
            if (status.ok() && (location.getOffset() + location.getSize() > m.arena.size() ||
                                location.getRecord() >= m.index->max_objects())) {
              status = absl::InternalError("the store sent a location outside its arena");
            }
            if (!status.ok()) {
              results[i] = status;
              continue;
            }
            results[i] = ObjectBuffer(impl_->mapping, ids[i], location.getRecord(),
                                      m.arena.data() + location.getOffset(), location.getSize());
          }
        });
      }
      for (size_t i : missing)
        results[i] = absl::UnavailableError("object store connection is closed");
      return kj::READY_NOW;
    });
  } catch (const kj::Exception& e) {
    for (size_t i : missing) results[i] = Unavailable(e);
  }
  return results;
}

std::optional<absl::StatusOr<ObjectBuffer>> StoreClient::TryGet(const ObjectID& id) {
  ClientMapping& m = *impl_->mapping;
  auto snap = m.index->Find(id);
  if (!snap) return std::nullopt;
  if (snap->state == ObjectState::kFailed) {
    return absl::ResourceExhaustedError(
        absl::StrCat("ObjectStoreFull: object ", id.Hex(), " could not be stored"));
  }
  if (snap->state != ObjectState::kSealed) return std::nullopt;
  // Pin, then check the record still holds this object (see object_index.h).
  uint32_t r = snap->record;
  m.pins()[r].fetch_add(1, std::memory_order_seq_cst);
  auto again = m.index->Read(r, id);
  if (!again || again->state != ObjectState::kSealed || again->offset != snap->offset) {
    m.Unpin(r);
    return std::nullopt;
  }
  m.index->record(r).last_access_ns.store(MonotonicNanos(), std::memory_order_relaxed);
  return ObjectBuffer(impl_->mapping, id, r, m.arena.data() + snap->offset, snap->size);
}

absl::StatusOr<ObjectBuffer> StoreClient::Get(const ObjectID& id, absl::Duration timeout,
                                              IfAbsent if_absent) {
  return std::move(Get(std::span<const ObjectID>(&id, 1), timeout, if_absent)[0]);
}

absl::StatusOr<bool> StoreClient::Contains(const ObjectID& id) {
  auto snap = impl_->mapping->index->Find(id);
  if (snap && snap->state == ObjectState::kSealed) return true;
  try {
    return impl_->OnIoThread([&]() -> kj::Promise<absl::StatusOr<bool>> {
      KJ_IF_MAYBE (s, impl_->session) {
        auto request = s->containsRequest();
        request.setId(AsData(id.Binary()));
        return request.send().then(
            [](auto&& response) -> absl::StatusOr<bool> { return response.getSealed(); });
      }
      return absl::StatusOr<bool>(absl::UnavailableError("object store connection is closed"));
    });
  } catch (const kj::Exception& e) {
    return Unavailable(e);
  }
}

absl::Status StoreClient::Delete(std::span<const ObjectID> ids) {
  try {
    return impl_->OnIoThread([&]() -> kj::Promise<absl::Status> {
      KJ_IF_MAYBE (s, impl_->session) {
        auto request = s->deleteRequest();
        auto list = request.initIds(ids.size());
        for (size_t i = 0; i < ids.size(); ++i) list.set(i, AsData(ids[i].Binary()));
        return request.send().then([](auto&& response) {
          auto failures = response.getFailures();
          return failures.size() == 0 ? absl::OkStatus() : ToStatus(failures[0].getStatus());
        });
      }
      return absl::UnavailableError("object store connection is closed");
    });
  } catch (const kj::Exception& e) {
    return Unavailable(e);
  }
}

absl::Status StoreClient::Subscribe(std::function<void(std::span<const ObjectID>)> on_sealed) {
  try {
    return impl_->OnIoThread([&]() -> kj::Promise<absl::Status> {
      KJ_IF_MAYBE (s, impl_->session) {
        auto request = s->subscribeRequest();
        request.setListener(kj::heap<SealListenerImpl>(std::move(on_sealed)));
        return request.send().then([](auto&&) { return absl::OkStatus(); });
      }
      return absl::UnavailableError("object store connection is closed");
    });
  } catch (const kj::Exception& e) {
    return Unavailable(e);
  }
}

absl::StatusOr<StoreClientStats> StoreClient::Stats() {
  try {
    return impl_->OnIoThread([&]() -> kj::Promise<absl::StatusOr<StoreClientStats>> {
      KJ_IF_MAYBE (s, impl_->session) {
        return s->statsRequest().send().then([](auto&& r) -> absl::StatusOr<StoreClientStats> {
          return StoreClientStats{r.getCapacity(), r.getUsed(), r.getObjects(), r.getEvictions()};
        });
      }
      return absl::StatusOr<StoreClientStats>(
          absl::UnavailableError("object store connection is closed"));
    });
  } catch (const kj::Exception& e) {
    return Unavailable(e);
  }
}

ObjectBuffer::ObjectBuffer(std::shared_ptr<ClientMapping> mapping, const ObjectID& id,
                           uint32_t record, const uint8_t* data, size_t size)
    : mapping_(std::move(mapping)), id_(id), record_(record), data_(data), size_(size) {}

ObjectBuffer::ObjectBuffer(ObjectBuffer&& other) noexcept { *this = std::move(other); }

ObjectBuffer& ObjectBuffer::operator=(ObjectBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    mapping_ = std::move(other.mapping_);
    id_ = other.id_;
    record_ = other.record_;
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void ObjectBuffer::Release() {
  if (mapping_ == nullptr) return;
  mapping_->Unpin(record_);
  mapping_.reset();
  data_ = nullptr;
  size_ = 0;
}

MutableObject::MutableObject(MutableObject&& other) noexcept { *this = std::move(other); }

MutableObject& MutableObject::operator=(MutableObject&& other) noexcept {
  if (this != &other) {
    if (client_ != nullptr) (void)client_->Abort(std::move(*this));
    client_ = std::exchange(other.client_, nullptr);
    id_ = other.id_;
    record_ = other.record_;
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MutableObject::~MutableObject() {
  if (client_ != nullptr) (void)client_->Abort(std::move(*this));
}

}  // namespace ray::store
