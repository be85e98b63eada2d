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
#include "ray/store/client_connection.h"
#include "ray/store/object_index.h"
#include "ray/store/shared_memory.h"
#include "ray/store/store.capnp.h"
#include "ray/store/wire.h"

namespace ray::store {
namespace {

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
