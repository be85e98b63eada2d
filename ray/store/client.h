// The object store's client library. Any thread may call it. Reads of sealed objects are
// served from shared memory without a message to the store; small puts travel in batches.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/common/id.h"
#include "ray/store/object_options.h"

namespace ray::store {

struct ClientMapping;  // the store's shared memory as this process maps it
class StoreClient;

// A sealed object, mapped read-only into this process: no copy was made. While an
// ObjectBuffer lives the object is pinned (never evicted nor deleted). Move-only.
class ObjectBuffer {
 public:
  ObjectBuffer() = default;
  ObjectBuffer(ObjectBuffer&& other) noexcept;
  ObjectBuffer& operator=(ObjectBuffer&& other) noexcept;
  ~ObjectBuffer() { Release(); }

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  const ObjectID& id() const { return id_; }
  bool valid() const { return mapping_ != nullptr; }
  // Unpins now (also done by the destructor).
  void Release();

 private:
  friend class StoreClient;
  ObjectBuffer(std::shared_ptr<ClientMapping> mapping, const ObjectID& id, uint32_t record,
               const uint8_t* data, size_t size);

  std::shared_ptr<ClientMapping> mapping_;
  ObjectID id_;
  uint32_t record_ = 0;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// An object created and not yet sealed: write its bytes, then StoreClient::Seal. Dropping it
// unsealed aborts it. Move-only.
class MutableObject {
 public:
  MutableObject() = default;
  MutableObject(MutableObject&& other) noexcept;
  MutableObject& operator=(MutableObject&& other) noexcept;
  ~MutableObject();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<uint8_t> span() const { return {data_, size_}; }
  const ObjectID& id() const { return id_; }

 private:
  friend class StoreClient;
  StoreClient* client_ = nullptr;
  ObjectID id_;
  uint32_t record_ = 0;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

struct StoreClientOptions {
  std::string name = "client";  // shown in the store's logs
  // The store's owner token (StoreOptions::owner_token): this client may then delete any
  // object. Empty: an ordinary client.
  std::string owner_token;
  // Connect retries until the store listens, and waits for its answer, this long at most.
  absl::Duration connect_timeout = absl::Seconds(10);
};

struct StoreClientStats {
  uint64_t capacity = 0;
  uint64_t used = 0;
  uint32_t objects = 0;
  uint64_t evictions = 0;
};

// Errors are absl::Status codes: ResourceExhausted ("ObjectStoreFull"), AlreadyExists,
// NotFound, DeadlineExceeded (Get timed out), FailedPrecondition (wrong state),
// PermissionDenied, InvalidArgument, Unavailable (the store is gone).
class StoreClient {
 public:
  // Objects up to this size go in batched messages; larger ones are written in place.
  static constexpr size_t kSmallObjectLimit = 64 << 10;

  // Errors: Unavailable (no store listens at `socket_path`), DeadlineExceeded (a store
  // listens but did not accept or answer within the connect timeout), ResourceExhausted (the
  // store refused a session: its caps, or it is out of descriptors).
  static absl::StatusOr<std::unique_ptr<StoreClient>> Connect(
      const std::string& socket_path, const StoreClientOptions& options = {});
  // Disconnects. The store aborts this client's unsealed objects; buffers still held stay
  // mapped until they are dropped.
  ~StoreClient();
  StoreClient(const StoreClient&) = delete;
  StoreClient& operator=(const StoreClient&) = delete;

  uint64_t capacity() const;

  // Reserves `size` bytes for a new object, to write and then Seal.
  absl::StatusOr<MutableObject> Create(const ObjectID& id, uint64_t size,
                                       ObjectOptions options = {});
  // Makes the object immutable and visible; does not wait for the store (see Flush).
  absl::Status Seal(MutableObject object);
  // Frees an object created and not sealed.
  absl::Status Abort(MutableObject object);

  // Creates, copies and seals. Small objects are sent in batches without waiting: errors
  // (such as a full store) show in Flush() and in Get of that object.
  absl::Status Put(const ObjectID& id, std::span<const uint8_t> data, ObjectOptions options = {});
  // Waits until every Put and Seal made so far reached the store; returns (and clears) the
  // first error among them.
  absl::Status Flush();

  // What a Get does about an object that is not in the store at all.
  enum class IfAbsent {
    kWait,  // wait for it to be created and sealed (DeadlineExceeded at the timeout)
    kFail,  // NotFound at once, or as soon as its creator aborts it: only created objects
            // are waited for (a reader that knows the object was made, so it is gone)
  };
  // Waits for each object to be sealed, at most `timeout` (InfiniteDuration: forever).
  // One result per ID, in order.
  std::vector<absl::StatusOr<ObjectBuffer>> Get(std::span<const ObjectID> ids,
                                                absl::Duration timeout,
                                                IfAbsent if_absent = IfAbsent::kWait);
  absl::StatusOr<ObjectBuffer> Get(const ObjectID& id,
                                   absl::Duration timeout = absl::InfiniteDuration(),
                                   IfAbsent if_absent = IfAbsent::kWait);

  // The object if it is sealed in the store now, without any message to the store (a few
  // hundred nanoseconds); nullopt if it is not (yet) there.
  std::optional<absl::StatusOr<ObjectBuffer>> TryGet(const ObjectID& id);

  // True if the object is sealed in the store.
  absl::StatusOr<bool> Contains(const ObjectID& id);
  // Deletes objects: at once if nobody holds them, else when the last holder releases.
  // PermissionDenied for an object that is not evictable, unless this client created it or
  // owns the store.
  absl::Status Delete(std::span<const ObjectID> ids);

  // Calls `on_sealed` (on the client's I/O thread) with the IDs of objects as they are sealed.
  absl::Status Subscribe(std::function<void(std::span<const ObjectID>)> on_sealed);

  absl::StatusOr<StoreClientStats> Stats();

  struct Impl;  // defined in client.cc

 private:
  explicit StoreClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace ray::store
