// The object format (header, element kinds, error objects' contents) and the value types it
// stores raw (ByteBuffer, ArrayView): what serialization.h reads and writes. Include
// serialization.h, which includes this.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <deque>
#include <forward_list>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <msgpack.hpp>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ray/common/stable_hash.h"
#include "ray/object/msgpack_floats.h"

// Declares the fields a user struct serializes (as a msgpack array, in this order):
//   struct Point { double x, y; std::string label; RAY_SERIALIZABLE(x, y, label); };
// The struct needs a default constructor. Same as msgpack's MSGPACK_DEFINE.
#define RAY_SERIALIZABLE(...) MSGPACK_DEFINE(__VA_ARGS__)

// Inside a trivially-copyable struct: store vectors/spans of it raw (its bytes as they are, so
// it must not hold pointers) and allow zero-copy views of it:
//   struct Pixel { uint8_t r, g, b, a; RAY_RAW_ELEMENT(); };
#define RAY_RAW_ELEMENT() using ray_raw_element_tag = void

namespace ray {

static_assert(std::endian::native == std::endian::little, "raw objects assume little-endian");

// ---------------------------------------------------------------------------------------------
// Object layout

enum class ObjectFormat : uint8_t {
  kMsgpack = 1,
  kRaw = 2,
  kError = 3,
  kPickle = 4,  // added after 1-3; readers that predate it reject it as an unknown format
};

// Element type of a raw object.
enum class ElementKind : uint8_t {
  kNone = 0,      // not a raw object
  kSigned = 1,    // signed integer of elem_size bytes (2, 4, 8)
  kUnsigned = 2,  // unsigned integer of elem_size bytes (2, 4, 8)
  kFloat = 3,     // IEEE float of elem_size bytes (4, 8; 16 = long double)
  kBool = 4,      // bool, one byte
  kText = 5,      // char: std::string, std::string_view, std::vector<char>
  kBytes = 6,     // other one-byte types: uint8_t, int8_t, std::byte, ByteBuffer
  kTrivial = 7,   // opted-in trivially-copyable struct of elem_size bytes; type_hash names it
};

inline constexpr uint32_t kObjectMagic = 0x4f594152;  // the bytes "RAYO"
inline constexpr uint8_t kObjectVersion = 1;
inline constexpr size_t kObjectHeaderSize = 64;
inline constexpr size_t kPayloadAlignment = 64;  // when the object itself is 64-byte aligned

// The first 64 bytes of every object. All fields little-endian; reserved fields are zero.
struct ObjectHeader {
  uint32_t magic;         // kObjectMagic
  uint8_t version;        // kObjectVersion
  uint8_t format;         // ObjectFormat
  uint8_t elem_kind;      // ElementKind (kRaw only, else kNone)
  uint8_t reserved0;      //
  uint32_t elem_size;     // bytes per element (kRaw only, else 0)
  uint32_t reserved1;     //
  uint64_t payload_size;  // bytes after the header; the object is exactly 64 + payload_size
  uint64_t type_hash;     // FNV-1a of a mangled C++ type name: for kTrivial elements the
                          // element type (checked on read); else the writer's type (0: unknown)
  char type_name[32];     // the writer's C++ type, for messages only: NUL-padded, may be cut
};
static_assert(sizeof(ObjectHeader) == kObjectHeaderSize);
static_assert(std::is_trivially_copyable_v<ObjectHeader>);

// Reads and checks the header: size, magic, version, format, that the object is exactly
// 64 + payload_size bytes, and for raw objects the element size. DataLoss otherwise.
absl::StatusOr<ObjectHeader> ReadHeader(std::span<const uint8_t> bytes);

// A short description of an object for messages, e.g. "raw float64[1000] (std::vector<double>)",
// "msgpack array[3] of str (std::vector<std::string>)", "error object (...)", or why the bytes
// are not an object.
std::string DescribeObject(std::span<const uint8_t> bytes);

// A readable name of a C++ type: demangled, default template arguments dropped
// ("std::vector<std::string>", "std::map<int, double>").
std::string DemangleTypeName(const char* mangled);
template <typename T>
const std::string& TypeName() {
  static const std::string* const name = new std::string(DemangleTypeName(typeid(T).name()));
  return *name;
}

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// ---------------------------------------------------------------------------------------------
// Value types

// An owned, contiguous byte buffer, stored raw (kBytes). Inside msgpack containers it is a
// msgpack bin.
class ByteBuffer {
 public:
  ByteBuffer() = default;
  explicit ByteBuffer(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  explicit ByteBuffer(std::span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  ByteBuffer(const void* data, size_t size)
      : bytes_(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + size) {}

  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* data() { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  std::span<const uint8_t> span() const { return bytes_; }
  std::vector<uint8_t>& bytes() { return bytes_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

  friend bool operator==(const ByteBuffer&, const ByteBuffer&) = default;

 private:
  std::vector<uint8_t> bytes_;
};

// A read-only view of the elements of a raw object, in the object's own memory (no copy). It
// keeps `owner` alive (the runtime passes the store pin), so the memory stays valid as long as
// the view or a copy of it exists. Serializing an ArrayView writes a raw object.
template <typename T>
class ArrayView {
 public:
  using value_type = T;
  using const_iterator = const T*;
  using iterator = const T*;

  ArrayView() = default;
  explicit ArrayView(std::span<const T> elements, std::shared_ptr<const void> owner = nullptr)
      : data_(elements.data()), size_(elements.size()), owner_(std::move(owner)) {}

  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](size_t i) const { return data_[i]; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  std::span<const T> span() const { return {data_, size_}; }
  operator std::span<const T>() const { return span(); }  // NOLINT: a view is a span
  std::vector<T> ToVector() const { return std::vector<T>(begin(), end()); }
  std::string_view str() const requires std::is_same_v<T, char> { return {data_, size_}; }
  const std::shared_ptr<const void>& owner() const { return owner_; }

 private:
  const T* data_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<const void> owner_;
};

// Lets a trivially-copyable type that cannot carry RAY_RAW_ELEMENT() (a third-party struct)
// opt in: template <> struct ray::RawElementOptIn<Foo> : std::true_type {};
template <typename T>
    struct RawElementOptIn : std::bool_constant < requires {
  typename T::ray_raw_element_tag;
} > {};

// Lets a class with msgpack adaptors of its own (specializations of msgpack::adaptor::pack and
// convert) pass ray's compile-time check of values (ray/api checks every argument, result and
// object type): template <> struct ray::MsgpackAdaptorOptIn<Foo> : std::true_type {};
template <typename T>
struct MsgpackAdaptorOptIn : std::false_type {};

template <typename E>
inline constexpr bool kIsRawElement =
    !std::is_const_v<E> && !std::is_volatile_v<E> &&
    (std::is_arithmetic_v<E> || std::is_same_v<E, std::byte> || RawElementOptIn<E>::value);

// What is stored about a task that threw, in place of its result.
struct TaskErrorInfo {
  std::string function_name;   // the remote function ("add", or module+offset if unnamed)
  std::string exception_type;  // demangled type of what was thrown ("std::runtime_error")
  std::string message;         // what()
  std::string task_id;         // hex of the failed task's ID
  int64_t pid = 0;             // the worker process
  std::string node;            // node (host) name or ID; may be empty on a single node
  std::string traceback;       // where it was raised (Python tasks' traceback); may be empty.
                               // Added later: absent from older objects, ignored by older readers
  // Python tasks: the exception itself, pickled (cloudpickle), when it could be; any bytes.
  // Added later, as `traceback`.
  std::string exception_pickle;

  // "std::runtime_error in add (task 1a2b..., pid 123): boom"
  std::string ToString() const;
  friend bool operator==(const TaskErrorInfo&, const TaskErrorInfo&) = default;
  MSGPACK_DEFINE_MAP(function_name, exception_type, message, task_id, pid, node, traceback,
                     exception_pickle);
};

}  // namespace ray
