#include "ray/store/client_connection.h"

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
namespace {

// Bytes of small puts sent and not yet acknowledged before Put waits: bounds the client's
// memory and keeps each batch message well under Cap'n Proto's size limits.
constexpr size_t kMaxUnackedBytes = 16 << 20;

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

}  // namespace

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

}  // namespace ray::store
