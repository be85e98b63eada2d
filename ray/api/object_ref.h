// ObjectRef<T>, Put, Get, GetView and Wait. Part of the public API (ray/api.h).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "ray/api/errors.h"
#include "ray/api/internal/serialization.h"
#include "ray/api/internal/status.h"
#include "ray/common/id.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/object/status.h"

namespace ray {

template <typename T>
class ObjectRef;
namespace internal {
template <typename T>  // an ObjectRef argument is passed by reference, not packed
struct MayHoldHandlesOf<ObjectRef<T>> : std::false_type {};
}  // namespace internal

// How long Get, GetView or Wait may wait: an absl::Duration or any std::chrono::duration
// (std::chrono::milliseconds(100); 1.5s with std::chrono_literals). Infinite by default, and for
// absl::InfiniteDuration() and std::chrono::duration<...>::max().
class Timeout {
 public:
  Timeout() = default;
  Timeout(absl::Duration duration) : duration_(duration) {}  // NOLINT: converts implicitly
  template <typename Rep, typename Period>
  Timeout(std::chrono::duration<Rep, Period> duration)  // NOLINT: converts implicitly
      : duration_(FromChrono(duration)) {}

  absl::Duration duration() const { return duration_; }

 private:
  // Exact for integer counts (to absl's quarter nanosecond); past absl::Duration's range
  // (about 292 billion years) the timeout is infinite.
  template <typename Rep, typename Period>
  static absl::Duration FromChrono(std::chrono::duration<Rep, Period> duration) {
    if (duration == std::chrono::duration<Rep, Period>::max()) return absl::InfiniteDuration();
    if constexpr (std::is_floating_point_v<Rep>) {
      return absl::Seconds(std::chrono::duration<double>(duration).count());
    } else {
      const auto count = duration.count();
      if constexpr (std::is_unsigned_v<Rep>) {
        if (count > static_cast<Rep>(std::numeric_limits<int64_t>::max())) {
          return absl::InfiniteDuration();
        }
      }
      return absl::Seconds(static_cast<int64_t>(count)) * Period::num / Period::den;
    }
  }

  absl::Duration duration_ = absl::InfiniteDuration();
};

namespace internal {

// Where the packer puts the handles it meets (ray/api/actor.h's adaptor), while AddNestedRefs
// runs it; null otherwise.
inline thread_local std::vector<ObjectID>* handles_met = nullptr;

// The objects a value references, kept alive with it (where it is a task's argument, a task's
// return or a put): each actor's handle inside it, however deep (containers, structs with
// RAY_SERIALIZABLE, adaptors of the user's own), names its actor's object. Found by running the
// packer over the value without writing, for types that may hold one (kMayHoldHandles).
template <typename T>
void AddNestedRefs(std::vector<ObjectID>& out, const T& value) {
  using V = std::remove_cvref_t<T>;
  if constexpr (kMayHoldHandles<V> && kIsSerializable<V>) {
    std::vector<ObjectID>* const outer = std::exchange(handles_met, &out);
    try {
      (void)SerializedMsgpackSize(value);
    } catch (...) {
      handles_met = outer;
      throw;
    }
    handles_met = outer;
  }
}

// The runtime of this process; RayError naming `api` if ray::Init has not run.
core::CoreRuntime& Runtime(std::string_view api);

// Throws the exception stored in `value` if it is an error object (ThrowErrorObject).
void ThrowIfErrorObject(const core::ObjectValue& value, const ObjectID& id, std::string_view api);
// RayError for a value Get could not read as `type`.
[[noreturn]] void ThrowReadError(const absl::Status& status, const ObjectID& id,
                                 std::string_view api, const std::string& type);
// RayError naming `api` if `ids` has a duplicate.
void CheckUnique(std::span<const ObjectID> ids, std::string_view api);

// The type of the object a value of type T is stored as (what ObjectRef holds): T itself,
// except that views and C strings own their copy (std::span<const E>, ray::ArrayView<E> ->
// std::vector<E>; const char*, std::string_view -> std::string).
template <typename T>
struct ObjectTypeOf {
  using type = T;
};
template <>
struct ObjectTypeOf<const char*> {
  using type = std::string;
};
template <>
struct ObjectTypeOf<char*> {
  using type = std::string;
};
template <>
struct ObjectTypeOf<std::string_view> {
  using type = std::string;
};
template <typename E>
struct ObjectTypeOf<ArrayView<E>> {
  using type = std::vector<E>;
};
template <typename E, size_t N>
struct ObjectTypeOf<std::span<E, N>> {
  using type = std::vector<std::remove_const_t<E>>;
};
template <typename T>
using ObjectType = typename ObjectTypeOf<std::decay_t<T>>::type;

template <typename T>
inline constexpr bool kIsObjectRef = false;
template <typename T>
inline constexpr bool kIsObjectRef<ObjectRef<T>> = true;

template <typename T>
inline constexpr bool kIsCharPointer =
    std::is_same_v<std::decay_t<T>, const char*> || std::is_same_v<std::decay_t<T>, char*>;

// What gets serialized for a value of type T (C strings as std::string_view).
template <typename T>
decltype(auto) Serializable(const T& value) {
  if constexpr (kIsCharPointer<T>) {
    return std::string_view(value);
  } else {
    return (value);
  }
}

// Fails to compile, with one message that says what to do, if ray cannot serialize a Value
// (the compiler shows Value, and Unserializable: the part of it that lacks a way, Value itself
// or an element or member type). Returns true otherwise.
template <typename Value, typename Unserializable = UnserializablePart<Value>>
constexpr bool CheckSerializable() {
  static_assert(std::is_void_v<Unserializable>,
                "ray cannot serialize the type shown as Unserializable (in Value): list its "
                "fields in the struct with RAY_SERIALIZABLE(field1, field2, ...) (it needs a "
                "default constructor); or, for a trivially-copyable struct in a std::vector, "
                "RAY_RAW_ELEMENT(); or, if it has msgpack adaptors of its own, declare "
                "template <> struct ray::MsgpackAdaptorOptIn<T> : std::true_type {}");
  return true;
}

struct RefAccess;

// Marks the construction of a ref that takes over a reference already counted.
struct AdoptTag {};
inline constexpr AdoptTag kAdopt{};

// The type-independent part of ObjectRef: the ID and its reference count in the runtime.
class ObjectRefBase {
 public:
  // The object's ID; nil for a default-constructed or moved-from ref.
  const ObjectID& ID() const { return id_; }
  std::string Hex() const { return id_.Hex(); }
  bool IsNil() const { return id_.IsNil(); }

 protected:
  ObjectRefBase() = default;
  explicit ObjectRefBase(const ObjectID& id) : id_(id) { Acquire(); }
  // Takes over the reference that CoreRuntime::Submit / Put counted for the caller.
  ObjectRefBase(const ObjectID& id, AdoptTag) : id_(id) {
    if (id_.IsNil() || core::CurrentRuntime() == nullptr) return;
    epoch_ = core::CurrentRuntimeEpoch();
    runtime_ = core::CurrentRuntime();
  }
  ObjectRefBase(const ObjectRefBase& other) : id_(other.id_) {
    if (other.Counted()) Acquire();
  }
  ObjectRefBase(ObjectRefBase&& other) noexcept
      : id_(std::exchange(other.id_, ObjectID())),
        runtime_(std::exchange(other.runtime_, nullptr)),
        epoch_(std::exchange(other.epoch_, 0)) {}
  ObjectRefBase& operator=(const ObjectRefBase& other) {
    if (this != &other) {
      ObjectRefBase copy(other);
      *this = std::move(copy);
    }
    return *this;
  }
  ObjectRefBase& operator=(ObjectRefBase&& other) noexcept {
    if (this != &other) {
      Release();
      id_ = std::exchange(other.id_, ObjectID());
      runtime_ = std::exchange(other.runtime_, nullptr);
      epoch_ = std::exchange(other.epoch_, 0);
    }
    return *this;
  }
  ~ObjectRefBase() { Release(); }

  // The runtime to read this object from; RayError naming `api` if the ref is nil, ray is not
  // initialized, or the ref was made by a runtime that has been shut down since.
  core::CoreRuntime& UsableRuntime(std::string_view api) const;

 private:
  friend struct RefAccess;

  // True if this ref holds a reference in the runtime that is still current.
  bool Counted() const {
    return runtime_ != nullptr && epoch_ == core::CurrentRuntimeEpoch() &&
           runtime_ == core::CurrentRuntime();
  }
  void Acquire() {
    if (id_.IsNil()) return;
    epoch_ = core::CurrentRuntimeEpoch();
    runtime_ = core::CurrentRuntime();
    if (runtime_ != nullptr) {
      runtime_->AddRef(id_);
    } else {
      epoch_ = 0;
    }
  }
  void Release() {
    if (Counted()) runtime_->RemoveRef(id_);
    runtime_ = nullptr;
    epoch_ = 0;
  }

  ObjectID id_;
  core::CoreRuntime* runtime_ = nullptr;  // the runtime holding our reference, if any
  uint64_t epoch_ = 0;                    // core::CurrentRuntimeEpoch() when it was taken
};

struct RefAccess {
  static core::CoreRuntime& UsableRuntime(const ObjectRefBase& ref, std::string_view api) {
    return ref.UsableRuntime(api);
  }
};

// The value of T in `value` (which is not an error object).
template <typename T>
T ReadObject(const core::ObjectValue& value, const ObjectID& id, std::string_view api) {
  ThrowIfErrorObject(value, id, api);
  if constexpr (!kIsSerializable<T>) {
    throw RayError("unreachable");  // ObjectRef<T> does not compile, and says why
  } else if constexpr (!std::is_void_v<T>) {
    absl::StatusOr<T> result = Deserialize<T>(value.bytes);
    if (!result.ok()) ThrowReadError(result.status(), id, api, TypeName<T>());
    return *std::move(result);
  }
}

// Element type of the views GetView gives for an ObjectRef<T>.
template <typename T>
concept Viewable = RawWrite<T>::kValue;
template <Viewable T>
using ViewElement = typename RawWrite<T>::Elem;

template <typename E>
ArrayView<E> ViewObject(const core::ObjectValue& value, const ObjectID& id, std::string_view api) {
  ThrowIfErrorObject(value, id, api);
  absl::StatusOr<ArrayView<E>> view = DeserializeView<E>(value.bytes, value.owner);
  if (!view.ok()) ThrowReadError(view.status(), id, api, TypeName<ArrayView<E>>());
  return *std::move(view);
}

}  // namespace internal

// A typed reference to an immutable object: the future result of a task (ray::Remote) or a
// value stored with ray::Put. Cheap to copy; while any copy lives (in this process) the object
// is kept. T is the stored value type (never a view or a reference); ObjectRef<void> is the
// result of a void function (Get waits and rethrows its error, and returns nothing).
template <typename T>
class ObjectRef : public internal::ObjectRefBase {
  static_assert(std::is_void_v<T> || std::is_same_v<T, internal::ObjectType<T>>,
                "ObjectRef<T> holds an owned value type: std::vector<E> rather than a "
                "span/ArrayView, std::string rather than a string_view or const char*, and "
                "no const or reference");
  static_assert(std::is_void_v<T> || internal::CheckSerializable<T>());

 public:
  using value_type = T;

  // A nil ref (refers to nothing; Get throws ray::RayError).
  ObjectRef() = default;
  // Refers to the object `id` and counts a reference to it in the current runtime. The caller
  // vouches that the object holds a T.
  explicit ObjectRef(const ObjectID& id) : ObjectRefBase(id) {}
  // For the API's own use: takes over the reference Submit or Put counted (no AddRef).
  ObjectRef(const ObjectID& id, internal::AdoptTag tag) : ObjectRefBase(id, tag) {}

  // Waits for the object (at most `timeout`: ray::GetTimeoutError) and returns a copy of its
  // value. Throws ray::TaskError / ray::WorkerCrashedError if the task that makes it, or one
  // it depends on, failed; ray::RayError if the object does not hold a T.
  T Get(Timeout timeout = Timeout()) const {
    core::CoreRuntime& runtime = UsableRuntime("ray::Get");
    std::vector<core::ObjectValue> values =
        internal::ValueOrThrow(runtime.Get(std::span(&ID(), 1), timeout.duration()));
    return internal::ReadObject<T>(values.at(0), ID(), "ray::Get");
  }

  // For objects stored raw (std::vector<E> of numbers or RAY_RAW_ELEMENT structs,
  // std::string, ByteBuffer): a read-only view of the object's memory in the store, no copy.
  // The view keeps the object pinned while it (or a copy) lives. Errors as Get.
  auto GetView(Timeout timeout = Timeout()) const {
    static_assert(internal::Viewable<T>,
                  "GetView needs an object stored raw: ObjectRef<std::vector<E>> (E a number, "
                  "std::byte or a RAY_RAW_ELEMENT struct), ObjectRef<std::string> or "
                  "ObjectRef<ray::ByteBuffer>; use Get for other types");
    if constexpr (internal::Viewable<T>) {
      core::CoreRuntime& runtime = UsableRuntime("ray::GetView");
      std::vector<core::ObjectValue> values =
          internal::ValueOrThrow(runtime.Get(std::span(&ID(), 1), timeout.duration()));
      return internal::ViewObject<internal::ViewElement<T>>(values.at(0), ID(), "ray::GetView");
    }
  }

  friend bool operator==(const ObjectRef& a, const ObjectRef& b) { return a.ID() == b.ID(); }
  template <typename H>
  friend H AbslHashValue(H h, const ObjectRef& ref) {
    return H::combine(std::move(h), ref.ID());
  }
  // Prints "ObjectRef(<hex of the ID>)".
  friend std::ostream& operator<<(std::ostream& os, const ObjectRef& ref) {
    return os << "ObjectRef(" << ref.Hex() << ")";
  }
};

// Stores `value` as a new immutable object (serialized straight into the store) and returns a
// reference to it. The ref's type is the stored type: ObjectRef<std::vector<E>> for a span or
// ArrayView, ObjectRef<std::string> for a C string or string_view.
template <typename T>
ObjectRef<internal::ObjectType<T>> Put(const T& value) {
  using Stored = internal::ObjectType<T>;
  static_assert(!internal::kIsObjectRef<Stored>,
                "ray::Put of an ObjectRef: pass the ObjectRef itself where it is needed");
  static_assert(!std::is_pointer_v<Stored>,
                "ray::Put of a pointer: store the value it points to (values cross processes)");
  if constexpr (!internal::kIsSerializable<T>) {
    return {};  // ObjectRef<Stored> says why not
  } else {
    core::CoreRuntime& runtime = internal::Runtime("ray::Put");
    const auto& serializable = internal::Serializable(value);
    const size_t size = SerializedSize(serializable);
    core::PutOptions options;
    internal::AddNestedRefs(options.nested_refs, value);
    ObjectID id = internal::ValueOrThrow(runtime.Put(
        size,
        [&](std::span<uint8_t> out) {
          if (out.size() < size) {
            throw RayError("ray::Put: the runtime gave " + std::to_string(out.size()) +
                           " bytes for an object of " + std::to_string(size));
          }
          SerializeInto(serializable, out);
        },
        options));
    return ObjectRef<Stored>(id, internal::kAdopt);
  }
}

// Same as ref.Get(timeout).
template <typename T>
T Get(const ObjectRef<T>& ref, Timeout timeout = Timeout()) {
  return ref.Get(timeout);
}

// The values of all `refs`, in order, with one wait for all of them (at most `timeout` in
// total). Throws the error of the first failed object in order. For ObjectRef<void>, waits and
// returns nothing.
template <typename T>
auto Get(const std::vector<ObjectRef<T>>& refs, Timeout timeout = Timeout()) {
  core::CoreRuntime& runtime = internal::Runtime("ray::Get");
  std::vector<ObjectID> ids;
  ids.reserve(refs.size());
  for (const ObjectRef<T>& ref : refs) {
    internal::RefAccess::UsableRuntime(ref, "ray::Get");
    ids.push_back(ref.ID());
  }
  std::vector<core::ObjectValue> values =
      internal::ValueOrThrow(runtime.Get(ids, timeout.duration()));
  if (values.size() != ids.size()) {
    throw RayError("ray::Get: the runtime returned " + std::to_string(values.size()) +
                   " values for " + std::to_string(ids.size()) + " objects");
  }
  if constexpr (std::is_void_v<T>) {
    for (size_t i = 0; i < ids.size(); ++i) internal::ReadObject<T>(values[i], ids[i], "ray::Get");
  } else {
    std::vector<T> result;
    result.reserve(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      result.push_back(internal::ReadObject<T>(values[i], ids[i], "ray::Get"));
    }
    return result;
  }
}

// Same as ref.GetView(timeout): a zero-copy read-only view of a raw object.
template <typename T>
auto GetView(const ObjectRef<T>& ref, Timeout timeout = Timeout()) {
  return ref.GetView(timeout);
}

// What Wait returns: `auto [ready, not_ready] = ray::Wait(refs, 1, absl::Seconds(1));`.
template <typename T>
struct WaitResult {
  std::vector<ObjectRef<T>> ready;      // at most num_returns, in the order of refs
  std::vector<ObjectRef<T>> not_ready;  // the others, in order
};

// Waits until `num_returns` of `refs` exist (done or failed: Get tells which) or `timeout`
// passes, and splits refs into those ready (at most num_returns) and the rest. Throws
// ray::RayError if num_returns > refs.size() or refs has a duplicate or a nil ref.
template <typename T>
WaitResult<T> Wait(const std::vector<ObjectRef<T>>& refs, size_t num_returns = 1,
                   Timeout timeout = Timeout()) {
  core::CoreRuntime& runtime = internal::Runtime("ray::Wait");
  if (num_returns > refs.size()) {
    throw RayError("ray::Wait: num_returns = " + std::to_string(num_returns) + " but only " +
                   std::to_string(refs.size()) + " refs");
  }
  std::vector<ObjectID> ids;
  ids.reserve(refs.size());
  for (const ObjectRef<T>& ref : refs) {
    internal::RefAccess::UsableRuntime(ref, "ray::Wait");
    ids.push_back(ref.ID());
  }
  internal::CheckUnique(ids, "ray::Wait");
  core::WaitIndices indexes =
      internal::ValueOrThrow(runtime.Wait(ids, num_returns, timeout.duration()));
  WaitResult<T> result;
  result.ready.reserve(indexes.ready.size());
  result.not_ready.reserve(indexes.not_ready.size());
  for (size_t i : indexes.ready) result.ready.push_back(refs.at(i));
  for (size_t i : indexes.not_ready) result.not_ready.push_back(refs.at(i));
  return result;
}

}  // namespace ray

template <typename T>
struct std::hash<ray::ObjectRef<T>> {
  size_t operator()(const ray::ObjectRef<T>& ref) const {
    return absl::Hash<ray::ObjectID>()(ref.ID());
  }
};
