// Serialization of task arguments and results: C++ values <-> the bytes of an immutable object
// in the object store (DESIGN.md, "Objects and values").
//
// Object layout: a 64-byte ObjectHeader, then the payload. The store places objects at 64-byte
// aligned addresses, so the payload is 64-byte aligned too. Three formats:
//   kRaw      contiguous trivially-copyable elements, exactly as they lie in memory (this
//             machine's layout, little-endian). Written with one memcpy straight into the
//             object; read back either by copy (Deserialize) or as a read-only view of the
//             object's memory with no copy (DeserializeView -> ArrayView).
//   kMsgpack  one MessagePack value (msgpack-cxx 4.1). Readable from other languages; floats
//             are always msgpack floats (msgpack-cxx would write 2.0 as the int 2).
//   kError    a TaskErrorInfo (a MessagePack map), stored in place of the result of a task that
//             threw.
//   kPickle   a Python value: pickle protocol 5 bytes, written and read by the Python package
//             (ray/python_embed/); type_name holds the Python type's name. C++ cannot read it
//             (Deserialize gives InvalidArgument).
//
// Which format a C++ type gets (decided at compile time):
//   raw      std::vector<E> (except vector<bool>), std::span<E> / std::span<const E>,
//            ArrayView<E>, std::string, std::string_view and ByteBuffer, where the element E is
//            arithmetic, std::byte, or a trivially-copyable struct that opts in with
//            RAY_RAW_ELEMENT() (or by specializing ray::RawElementOptIn).
//   msgpack  everything else msgpack-cxx can pack: arithmetic and bool, std::vector / std::map /
//            std::unordered_map / std::set / std::tuple / std::pair / std::optional /
//            std::array, nested up to 512 levels (inner strings and vectors are msgpack too), and
//            user structs that list their fields with RAY_SERIALIZABLE(a, b, ...) (an alias of
//            msgpack's MSGPACK_DEFINE: the struct is a msgpack array of its fields;
//            MSGPACK_DEFINE_MAP gives a map instead) or that have msgpack adaptors of their own
//            (which the API's compile-time check cannot see: declare them with
//            MsgpackAdaptorOptIn). The API (ray/api) rejects other types with one static_assert
//            (internal::UnserializablePart names the part of a type that cannot be serialized).
// Deserialize<T> reads a raw object into any raw-capable T with the same element type (all
// one-byte element types, text and bytes, read each other), and a msgpack object into any T
// that msgpack can convert it to (so a Python list of floats reads as std::vector<double>).
//
// Errors (absl::Status codes): InvalidArgument for a value of the wrong type (the message names
// the stored type and the requested one), DataLoss for bytes that are not a well-formed object
// (truncated, garbage), Aborted when the object is an error object (its message is the task
// error), ResourceExhausted if memory runs out while converting. Malformed input never crashes,
// never reads outside the given bytes, and never makes msgpack allocate more than a small multiple
// of the payload size. Do not read msgpack objects into types that point instead of owning
// (std::string_view inside containers): they would point into the object's bytes.
//
// Example:
//   std::vector<double> v = ...;
//   std::span<uint8_t> out = store.Create(id, ray::SerializedSize(v))->span();
//   ray::SerializeInto(v, out);                        // one memcpy into the store
//   ...
//   auto view = ray::DeserializeView<double>(buffer.span(), pin);   // no copy
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
#include "ray/core/msgpack_floats.h"
#include "ray/core/stable_hash.h"

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

// ---------------------------------------------------------------------------------------------
// Implementation details

namespace internal {

[[noreturn]] void SerializationFatal(const std::string& message);
absl::Status MalformedMsgpack(std::span<const uint8_t> payload);  // OK if well-formed
absl::Status WrongTypeError(std::span<const uint8_t> bytes, const std::string& wanted,
                            std::string_view detail);
absl::Status ErrorObjectStatus(std::span<const uint8_t> bytes);
absl::Status RawElementMismatch(std::span<const uint8_t> bytes, const ObjectHeader& header,
                                const std::string& wanted);
// Depth limit of msgpack values (containers in containers).
inline constexpr size_t kMaxMsgpackDepth = 512;

template <typename T>
uint64_t TypeHash() {
  static const uint64_t hash = Fnv1aHash(typeid(T).name());
  return hash;
}

struct ElementType {
  ElementKind kind;
  uint32_t size;
  uint64_t type_hash;
};

template <typename E>
ElementType RawElementType() {
  static_assert(kIsRawElement<E>);
  static_assert(std::is_trivially_copyable_v<E>, "a raw element must be trivially copyable");
  if constexpr (std::is_same_v<E, bool>) {
    return {ElementKind::kBool, 1, 0};
  } else if constexpr (std::is_same_v<E, char>) {
    return {ElementKind::kText, 1, 0};
  } else if constexpr (std::is_same_v<E, std::byte> || (std::is_integral_v<E> && sizeof(E) == 1)) {
    return {ElementKind::kBytes, 1, 0};
  } else if constexpr (std::is_floating_point_v<E>) {
    return {ElementKind::kFloat, sizeof(E), 0};
  } else if constexpr (std::is_integral_v<E> && std::is_signed_v<E>) {
    return {ElementKind::kSigned, sizeof(E), 0};
  } else if constexpr (std::is_integral_v<E>) {
    return {ElementKind::kUnsigned, sizeof(E), 0};
  } else {
    return {ElementKind::kTrivial, sizeof(E), TypeHash<E>()};
  }
}

inline bool IsByteLike(ElementKind kind) {
  return kind == ElementKind::kText || kind == ElementKind::kBytes;
}

inline bool RawCompatible(const ObjectHeader& h, const ElementType& want) {
  ElementKind have = static_cast<ElementKind>(h.elem_kind);
  if (IsByteLike(have) && IsByteLike(want.kind)) return true;
  return have == want.kind && h.elem_size == want.size &&
         (want.kind != ElementKind::kTrivial || h.type_hash == want.type_hash);
}

// Types written raw: Elem is the element type, Elements() the contiguous elements.
template <typename T>
struct RawWrite {
  static constexpr bool kValue = false;
};
template <typename E, typename A>
struct RawWrite<std::vector<E, A>> {
  static constexpr bool kValue = kIsRawElement<E> && !std::is_same_v<E, bool>;
  using Elem = E;
  static std::span<const E> Elements(const std::vector<E, A>& v) { return {v.data(), v.size()}; }
};
template <typename E, size_t N>
struct RawWrite<std::span<E, N>> {
  using Elem = std::remove_const_t<E>;
  static constexpr bool kValue = kIsRawElement<Elem>;
  static std::span<const Elem> Elements(std::span<E, N> s) { return {s.data(), s.size()}; }
};
template <typename E>
struct RawWrite<ArrayView<E>> {
  static constexpr bool kValue = kIsRawElement<E>;
  using Elem = E;
  static std::span<const E> Elements(const ArrayView<E>& v) { return v.span(); }
};
template <typename Tr, typename A>
struct RawWrite<std::basic_string<char, Tr, A>> {
  static constexpr bool kValue = true;
  using Elem = char;
  static std::span<const char> Elements(const std::basic_string<char, Tr, A>& s) {
    return {s.data(), s.size()};
  }
};
template <typename Tr>
struct RawWrite<std::basic_string_view<char, Tr>> {
  static constexpr bool kValue = true;
  using Elem = char;
  static std::span<const char> Elements(std::basic_string_view<char, Tr> s) {
    return {s.data(), s.size()};
  }
};
template <>
struct RawWrite<ByteBuffer> {
  static constexpr bool kValue = true;
  using Elem = uint8_t;
  static std::span<const uint8_t> Elements(const ByteBuffer& b) { return b.span(); }
};

// Types Deserialize can fill from a raw object.
template <typename T>
struct RawRead {
  static constexpr bool kValue = false;
};
template <typename E, typename A>
struct RawRead<std::vector<E, A>> {
  static constexpr bool kValue = kIsRawElement<E> && !std::is_same_v<E, bool>;
  using Elem = E;
  static std::vector<E, A> Read(const uint8_t* p, size_t n) {
    if (reinterpret_cast<uintptr_t>(p) % alignof(E) == 0) {
      const E* first = reinterpret_cast<const E*>(p);
      return std::vector<E, A>(first, first + n);  // no zero-fill: one memmove
    }
    std::vector<E, A> v(n);
    if (n != 0) std::memcpy(v.data(), p, n * sizeof(E));
    return v;
  }
};
template <typename Tr, typename A>
struct RawRead<std::basic_string<char, Tr, A>> {
  static constexpr bool kValue = true;
  using Elem = char;
  static std::basic_string<char, Tr, A> Read(const uint8_t* p, size_t n) {
    return std::basic_string<char, Tr, A>(reinterpret_cast<const char*>(p), n);
  }
};
template <>
struct RawRead<ByteBuffer> {
  static constexpr bool kValue = true;
  using Elem = uint8_t;
  static ByteBuffer Read(const uint8_t* p, size_t n) { return ByteBuffer(p, n); }
};

// Non-owning types: Deserialize cannot return them (they would point at bytes it does not own).
template <typename T>
inline constexpr bool kIsNonOwning = false;
template <typename E, size_t N>
inline constexpr bool kIsNonOwning<std::span<E, N>> = true;
template <typename E>
inline constexpr bool kIsNonOwning<ArrayView<E>> = true;
template <typename C, typename Tr>
inline constexpr bool kIsNonOwning<std::basic_string_view<C, Tr>> = true;

// Streams for msgpack::packer.
struct CountingStream {
  size_t size = 0;
  void write(const char*, size_t n) { size += n; }
};
struct SpanStream {
  uint8_t* out;
  size_t capacity;
  size_t size = 0;
  bool overflow = false;
  void write(const char* data, size_t n) {
    if (n == 0) return;
    if (n > capacity - size) {
      overflow = true;
      return;
    }
    std::memcpy(out + size, data, n);
    size += n;
  }
};

// The part of a T that msgpack-cxx has no adaptor for: T itself, or an element, key or member
// type of a standard container inside it; void if there is none. Passes: numbers, bool,
// enums (msgpack needs MSGPACK_ADD_ENUM for them, which cannot be seen from here), strings,
// ByteBuffer, classes with RAY_SERIALIZABLE (msgpack's msgpack_pack and msgpack_unpack
// members), MsgpackAdaptorOptIn types, msgpack's own types, and class templates other than the
// standard containers (unchecked: they may have adaptors of their own). So a plain struct
// without RAY_SERIALIZABLE is caught, alone or inside containers.
template <typename T>
struct MsgpackGapOf;
template <typename T>
using MsgpackGap = typename MsgpackGapOf<std::remove_cv_t<T>>::type;

// The first non-void of T..., or void.
template <typename... T>
struct FirstTypeOf {
  using type = void;
};
template <typename T, typename... Rest>
struct FirstTypeOf<T, Rest...> {
  using type = std::conditional_t<std::is_void_v<T>, typename FirstTypeOf<Rest...>::type, T>;
};
template <typename... T>
using FirstGap = typename FirstTypeOf<MsgpackGap<T>...>::type;

template <typename T>
concept HasMsgpackMembers = requires(const T& in, T& out, msgpack::packer<CountingStream>& packer,
                                     const msgpack::object& object) {
  in.msgpack_pack(packer);
  out.msgpack_unpack(object);
};
// A class made from a template of type parameters only (std::vector<int>, MyBox<Foo>).
template <typename T>
inline constexpr bool kIsTemplateInstance = false;
template <template <typename...> class C, typename... A>
inline constexpr bool kIsTemplateInstance<C<A...>> = true;

template <typename T>
inline constexpr bool kHasOwnMsgpackAdaptor =
    std::is_same_v<T, ByteBuffer> || std::is_same_v<T, msgpack::object> ||
    std::is_same_v<T, msgpack::type::nil_t> || std::is_same_v<T, msgpack::type::raw_ref> ||
    std::is_same_v<T, msgpack::type::v4raw_ref> || std::is_same_v<T, msgpack::type::ext> ||
    std::is_same_v<T, msgpack::type::ext_ref> || std::is_same_v<T, timespec>;

template <typename T>
struct MsgpackGapOf {
  // Not a class: numbers, enums, pointers (which the API rejects with messages of their own).
  static constexpr bool kPasses = (!std::is_class_v<T> && !std::is_union_v<T>) ||
                                  HasMsgpackMembers<T> || MsgpackAdaptorOptIn<T>::value ||
                                  kHasOwnMsgpackAdaptor<T> || kIsTemplateInstance<T>;
  using type = std::conditional_t<kPasses, void, T>;
};
template <typename E, size_t N>
struct MsgpackGapOf<E[N]> {
  using type = MsgpackGap<E>;
};
template <typename E, size_t N>
struct MsgpackGapOf<std::array<E, N>> {
  using type = MsgpackGap<E>;
};
template <typename E, size_t N>
struct MsgpackGapOf<std::span<E, N>> {
  using type = MsgpackGap<E>;
};
template <typename E>
struct MsgpackGapOf<ArrayView<E>> {
  using type = MsgpackGap<E>;
};
template <typename... A>
struct MsgpackGapOf<std::tuple<A...>> {
  using type = FirstGap<A...>;
};
template <typename A, typename B>
struct MsgpackGapOf<std::pair<A, B>> {
  using type = FirstGap<A, B>;
};
// Containers: the element (or key and value) types; not the allocator, comparator or hash.
#define RAY_INTERNAL_ELEMENTS_GAP(container)   \
  template <typename E, typename... Rest>      \
  struct MsgpackGapOf<container<E, Rest...>> { \
    using type = MsgpackGap<E>;                \
  }
RAY_INTERNAL_ELEMENTS_GAP(std::vector);
RAY_INTERNAL_ELEMENTS_GAP(std::deque);
RAY_INTERNAL_ELEMENTS_GAP(std::list);
RAY_INTERNAL_ELEMENTS_GAP(std::forward_list);
RAY_INTERNAL_ELEMENTS_GAP(std::set);
RAY_INTERNAL_ELEMENTS_GAP(std::multiset);
RAY_INTERNAL_ELEMENTS_GAP(std::unordered_set);
RAY_INTERNAL_ELEMENTS_GAP(std::unordered_multiset);
RAY_INTERNAL_ELEMENTS_GAP(std::optional);
RAY_INTERNAL_ELEMENTS_GAP(std::shared_ptr);
RAY_INTERNAL_ELEMENTS_GAP(std::unique_ptr);
#undef RAY_INTERNAL_ELEMENTS_GAP
#define RAY_INTERNAL_KEY_VALUE_GAP(container)         \
  template <typename K, typename V, typename... Rest> \
  struct MsgpackGapOf<container<K, V, Rest...>> {     \
    using type = FirstGap<K, V>;                      \
  }
RAY_INTERNAL_KEY_VALUE_GAP(std::map);
RAY_INTERNAL_KEY_VALUE_GAP(std::multimap);
RAY_INTERNAL_KEY_VALUE_GAP(std::unordered_map);
RAY_INTERNAL_KEY_VALUE_GAP(std::unordered_multimap);
#undef RAY_INTERNAL_KEY_VALUE_GAP

// The part of a T that ray cannot serialize (see MsgpackGap), or void. Raw types (vectors and
// spans of RAY_RAW_ELEMENT structs too) and C strings serialize.
template <typename T>
using UnserializablePart = std::conditional_t<RawWrite<std::remove_cv_t<T>>::kValue ||
                                                  std::is_same_v<std::decay_t<T>, const char*> ||
                                                  std::is_same_v<std::decay_t<T>, char*>,
                                              void, MsgpackGap<T>>;
template <typename T>
inline constexpr bool kIsSerializable = std::is_void_v<UnserializablePart<T>>;

}  // namespace internal
}  // namespace ray

// Floats are written as msgpack floats, also 2.0 (msgpack_floats.h).
RAY_MSGPACK_EXACT_FLOATS(ray::internal::CountingStream)
RAY_MSGPACK_EXACT_FLOATS(ray::internal::SpanStream)

namespace ray {
namespace internal {

// Writes a header; `type_name` is cut to fit (ending in "...").
void WriteHeaderFields(uint8_t* out, ObjectFormat format, ElementType elem, uint64_t payload_size,
                       uint64_t type_hash, std::string_view type_name);

template <typename T>
void WriteHeader(uint8_t* out, ObjectFormat format, ElementType elem, uint64_t payload_size) {
  WriteHeaderFields(out, format, elem, payload_size,
                    elem.kind == ElementKind::kTrivial ? elem.type_hash : TypeHash<T>(),
                    TypeName<T>());
}

// A payload that is exactly one msgpack number or bool, decoded without msgpack's allocating
// unpacker (the common case of small task results). kind kOther for anything else.
struct MsgpackScalar {
  enum Kind { kOther, kUint, kInt, kFloat, kBool } kind = kOther;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  bool b = false;
};

template <typename U>
U LoadBigEndian(const uint8_t* p) {
  U v;
  std::memcpy(&v, p, sizeof(U));
  if constexpr (sizeof(U) == 2) {
    v = static_cast<U>(__builtin_bswap16(static_cast<uint16_t>(v)));
  } else if constexpr (sizeof(U) == 4) {
    v = static_cast<U>(__builtin_bswap32(static_cast<uint32_t>(v)));
  } else if constexpr (sizeof(U) == 8) {
    v = static_cast<U>(__builtin_bswap64(static_cast<uint64_t>(v)));
  }
  return v;
}

inline MsgpackScalar DecodeMsgpackScalar(std::span<const uint8_t> p) {
  MsgpackScalar s;
  if (p.empty()) return s;
  const uint8_t b = p[0];
  auto fits = [&](size_t n) { return p.size() == 1 + n; };
  auto set_int = [&](int64_t v) {
    if (v >= 0) {
      s.kind = MsgpackScalar::kUint;
      s.u = static_cast<uint64_t>(v);
    } else {
      s.kind = MsgpackScalar::kInt;
      s.i = v;
    }
  };
  if (b <= 0x7f) {
    if (fits(0)) set_int(b);
  } else if (b >= 0xe0) {
    if (fits(0)) set_int(static_cast<int8_t>(b));
  } else if (b == 0xc2 || b == 0xc3) {
    if (fits(0)) {
      s.kind = MsgpackScalar::kBool;
      s.b = b == 0xc3;
    }
  } else if (b == 0xca) {
    if (fits(4)) {
      uint32_t bits = LoadBigEndian<uint32_t>(&p[1]);
      float f;
      std::memcpy(&f, &bits, 4);
      s.kind = MsgpackScalar::kFloat;
      s.f = f;
    }
  } else if (b == 0xcb) {
    if (fits(8)) {
      uint64_t bits = LoadBigEndian<uint64_t>(&p[1]);
      std::memcpy(&s.f, &bits, 8);
      s.kind = MsgpackScalar::kFloat;
    }
  } else if (b >= 0xcc && b <= 0xcf) {
    const size_t n = size_t{1} << (b - 0xcc);
    if (fits(n)) {
      s.kind = MsgpackScalar::kUint;
      s.u = n == 1   ? p[1]
            : n == 2 ? LoadBigEndian<uint16_t>(&p[1])
            : n == 4 ? LoadBigEndian<uint32_t>(&p[1])
                     : LoadBigEndian<uint64_t>(&p[1]);
    }
  } else if (b >= 0xd0 && b <= 0xd3) {
    const size_t n = size_t{1} << (b - 0xd0);
    if (fits(n)) {
      set_int(n == 1   ? static_cast<int8_t>(p[1])
              : n == 2 ? LoadBigEndian<int16_t>(&p[1])
              : n == 4 ? LoadBigEndian<int32_t>(&p[1])
                       : LoadBigEndian<int64_t>(&p[1]));
    }
  }
  return s;
}

// The conversions msgpack-cxx makes (ints with a range check, ints to floats, bool only from
// bool); false where msgpack would throw type_error.
template <typename T>
bool ScalarTo(const MsgpackScalar& s, T* out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (s.kind != MsgpackScalar::kBool) return false;
    *out = s.b;
    return true;
  } else if constexpr (std::is_floating_point_v<T>) {
    switch (s.kind) {
      case MsgpackScalar::kFloat:
        *out = static_cast<T>(s.f);
        return true;
      case MsgpackScalar::kUint:
        *out = static_cast<T>(s.u);
        return true;
      case MsgpackScalar::kInt:
        *out = static_cast<T>(s.i);
        return true;
      default:
        return false;
    }
  } else {
    if (s.kind == MsgpackScalar::kUint) {
      if (s.u > static_cast<std::make_unsigned_t<T>>(std::numeric_limits<T>::max())) return false;
      *out = static_cast<T>(s.u);
      return true;
    }
    if constexpr (std::is_signed_v<T>) {
      if (s.kind == MsgpackScalar::kInt) {
        if (s.i < static_cast<int64_t>(std::numeric_limits<T>::min())) return false;
        *out = static_cast<T>(s.i);
        return true;
      }
    }
    return false;
  }
}

// Does msgpack get a chance at T? Not for containers of opted-in raw structs (msgpack has no
// adaptor for them; they are raw only).
template <typename T>
constexpr bool MsgpackReadable() {
  if constexpr (RawRead<T>::kValue) {
    using E = typename RawRead<T>::Elem;
    return std::is_arithmetic_v<E> || std::is_same_v<E, std::byte> || std::is_same_v<T, ByteBuffer>;
  } else {
    return true;
  }
}

inline bool ReferenceAll(msgpack::type::object_type, size_t, void*) { return true; }

template <typename T>
absl::StatusOr<T> FromMsgpack(std::span<const uint8_t> bytes, std::span<const uint8_t> payload) {
  if constexpr (std::is_arithmetic_v<T>) {
    T value{};
    if (ScalarTo(DecodeMsgpackScalar(payload), &value)) return value;
    // Not a scalar, or the wrong one: the general path below finds out which, and says so.
  }
  if (absl::Status s = MalformedMsgpack(payload); !s.ok()) return s;
  if constexpr (!MsgpackReadable<T>()) {
    return WrongTypeError(bytes, TypeName<T>(), "only raw objects hold this type");
  } else {
    try {
      const size_t n = payload.size();
      // Well-formed (checked above) and no bigger than the payload: strings and bins point
      // into the payload (no copy into msgpack's zone).
      msgpack::unpack_limit limit(n, n, n, n, n, kMaxMsgpackDepth);
      msgpack::object_handle handle = msgpack::unpack(reinterpret_cast<const char*>(payload.data()),
                                                      n, &ReferenceAll, nullptr, limit);
      return handle.get().as<T>();
    } catch (const msgpack::type_error&) {
      return WrongTypeError(bytes, TypeName<T>(), "");
    } catch (const std::bad_alloc&) {
      return absl::ResourceExhaustedError("out of memory reading " + TypeName<T>());
    } catch (const std::exception& e) {
      return WrongTypeError(bytes, TypeName<T>(), e.what());
    }
  }
}

}  // namespace internal

// ---------------------------------------------------------------------------------------------
// Serialization

// SerializedSize / SerializeInto / Serialize (below) as a msgpack object, also for types that
// are otherwise stored raw (std::string is a msgpack str, std::vector<double> an array of
// floats, std::vector<uint8_t> a bin): what other languages read (values crossing to Python,
// ray/api/py_function.h and RAY_REMOTE).
template <typename T>
size_t SerializedMsgpackSize(const T& value) {
  internal::CountingStream counter;
  msgpack::pack(counter, value);
  return kObjectHeaderSize + counter.size;
}

template <typename T>
size_t SerializeMsgpackInto(const T& value, std::span<uint8_t> out) {
  if (out.size() < kObjectHeaderSize) {
    internal::SerializationFatal("SerializeInto: output smaller than the object header");
  }
  internal::SpanStream stream{out.data() + kObjectHeaderSize, out.size() - kObjectHeaderSize};
  msgpack::pack(stream, value);
  if (stream.overflow) {
    internal::SerializationFatal("SerializeInto: output of " + std::to_string(out.size()) +
                                 " bytes too small for " + TypeName<T>() + " (need " +
                                 std::to_string(SerializedMsgpackSize(value)) + ")");
  }
  internal::WriteHeader<T>(out.data(), ObjectFormat::kMsgpack, {ElementKind::kNone, 0, 0},
                           stream.size);
  return kObjectHeaderSize + stream.size;
}

template <typename T>
std::string SerializeMsgpack(const T& value) {
  std::string out(SerializedMsgpackSize(value), '\0');
  SerializeMsgpackInto(value,
                       std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  return out;
}

// The exact size of the object that SerializeInto(value, ...) writes. For msgpack values this
// runs the packer once without writing (no allocation).
template <typename T>
size_t SerializedSize(const T& value) {
  if constexpr (internal::RawWrite<T>::kValue) {
    return kObjectHeaderSize + internal::RawWrite<T>::Elements(value).size_bytes();
  } else {
    return SerializedMsgpackSize(value);
  }
}

// Writes the object for `value` into `out` (the store's memory for a new object), in place:
// raw data with one memcpy, msgpack straight from the packer. Returns the number of bytes
// written, which is SerializedSize(value).
// REQUIRES: out.size() >= SerializedSize(value) (the process aborts otherwise: a bug of the
// caller). Bytes past the object are not touched.
template <typename T>
size_t SerializeInto(const T& value, std::span<uint8_t> out) {
  if (out.size() < kObjectHeaderSize) {
    internal::SerializationFatal("SerializeInto: output smaller than the object header");
  }
  if constexpr (internal::RawWrite<T>::kValue) {
    using E = typename internal::RawWrite<T>::Elem;
    std::span<const E> elements = internal::RawWrite<T>::Elements(value);
    const size_t payload = elements.size_bytes();
    if (out.size() - kObjectHeaderSize < payload) {
      internal::SerializationFatal("SerializeInto: output of " + std::to_string(out.size()) +
                                   " bytes for a raw object of " +
                                   std::to_string(kObjectHeaderSize + payload));
    }
    internal::WriteHeader<T>(out.data(), ObjectFormat::kRaw, internal::RawElementType<E>(),
                             payload);
    if (payload != 0) std::memcpy(out.data() + kObjectHeaderSize, elements.data(), payload);
    return kObjectHeaderSize + payload;
  } else {
    return SerializeMsgpackInto(value, out);
  }
}

// Writes the header of an object whose payload another language wrote (a msgpack value or a
// pickle from Python): no element type, no type hash, `type_name` for messages (cut to fit).
inline void WriteForeignHeader(std::span<uint8_t> out, ObjectFormat format, uint64_t payload_size,
                               std::string_view type_name) {
  if (out.size() < kObjectHeaderSize) {
    internal::SerializationFatal("WriteForeignHeader: output smaller than the object header");
  }
  internal::WriteHeaderFields(out.data(), format, {ElementKind::kNone, 0, 0}, payload_size, 0,
                              type_name);
}

// The object as a string (for tests, inline values in messages, Put of small values).
template <typename T>
std::string Serialize(const T& value) {
  std::string out(SerializedSize(value), '\0');
  SerializeInto(value, std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Deserialization

// Copies the object's value into a T. See the top of this file for the error codes.
template <typename T>
absl::StatusOr<T> Deserialize(std::span<const uint8_t> bytes) {
  static_assert(!internal::kIsNonOwning<T>,
                "Deserialize returns owned values: use DeserializeView<E> for a view");
  absl::StatusOr<ObjectHeader> header = ReadHeader(bytes);
  if (!header.ok()) return header.status();
  std::span<const uint8_t> payload = bytes.subspan(kObjectHeaderSize);
  switch (static_cast<ObjectFormat>(header->format)) {
    case ObjectFormat::kError:
      return internal::ErrorObjectStatus(bytes);
    case ObjectFormat::kRaw:
      if constexpr (internal::RawRead<T>::kValue) {
        using E = typename internal::RawRead<T>::Elem;
        if (!internal::RawCompatible(*header, internal::RawElementType<E>())) {
          return internal::RawElementMismatch(bytes, *header, TypeName<T>());
        }
        return internal::RawRead<T>::Read(payload.data(), payload.size() / sizeof(E));
      } else {
        return internal::WrongTypeError(bytes, TypeName<T>(), "");
      }
    case ObjectFormat::kMsgpack:
      return internal::FromMsgpack<T>(bytes, payload);
    case ObjectFormat::kPickle:
      return internal::WrongTypeError(bytes, TypeName<T>(), "a Python object (pickle)");
  }
  return absl::DataLossError("unknown object format");  // ReadHeader checked it
}

template <typename T>
absl::StatusOr<T> Deserialize(std::string_view bytes) {
  return Deserialize<T>(AsBytes(bytes));
}

// A read-only view of the elements of a raw object, without copying: the view points into
// `bytes`, which must stay valid while the view is used; `owner` (the store pin) is kept alive
// by the view. InvalidArgument if the object is not raw, holds other elements, or its payload
// is not aligned for E.
template <typename E>
absl::StatusOr<ArrayView<E>> DeserializeView(std::span<const uint8_t> bytes,
                                             std::shared_ptr<const void> owner = nullptr) {
  static_assert(kIsRawElement<E>,
                "DeserializeView<E> needs a raw element type (arithmetic, "
                "std::byte or RAY_RAW_ELEMENT)");
  absl::StatusOr<ObjectHeader> header = ReadHeader(bytes);
  if (!header.ok()) return header.status();
  const std::string& wanted = TypeName<ArrayView<E>>();
  switch (static_cast<ObjectFormat>(header->format)) {
    case ObjectFormat::kError:
      return internal::ErrorObjectStatus(bytes);
    case ObjectFormat::kMsgpack:
    case ObjectFormat::kPickle:
      return internal::WrongTypeError(bytes, wanted, "only raw objects can be viewed");
    case ObjectFormat::kRaw:
      break;
  }
  if (!internal::RawCompatible(*header, internal::RawElementType<E>())) {
    return internal::RawElementMismatch(bytes, *header, wanted);
  }
  const uint8_t* payload = bytes.data() + kObjectHeaderSize;
  if (reinterpret_cast<uintptr_t>(payload) % alignof(E) != 0) {
    return absl::InvalidArgumentError("payload of " + DescribeObject(bytes) +
                                      " is not aligned to " + std::to_string(alignof(E)) +
                                      " bytes: cannot view it as " + wanted);
  }
  return ArrayView<E>(
      std::span<const E>(reinterpret_cast<const E*>(payload), header->payload_size / sizeof(E)),
      std::move(owner));
}

// ---------------------------------------------------------------------------------------------
// Error objects

size_t SerializedErrorSize(const TaskErrorInfo& info);
size_t SerializeErrorInto(const TaskErrorInfo& info, std::span<uint8_t> out);  // as SerializeInto
std::string SerializeError(const TaskErrorInfo& info);
// True if `bytes` is a well-formed object header of an error object.
bool IsError(std::span<const uint8_t> bytes);
// InvalidArgument if the object is not an error object, DataLoss if malformed.
absl::StatusOr<TaskErrorInfo> DeserializeError(std::span<const uint8_t> bytes);

}  // namespace ray

// msgpack adaptors for ray's own value types, so they also work inside msgpack containers.
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  template <>
  struct pack<ray::ByteBuffer> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const ray::ByteBuffer& v) const {
      if (v.size() > 0xffffffffu) throw msgpack::container_size_overflow("ByteBuffer too big");
      o.pack_bin(static_cast<uint32_t>(v.size()));
      o.pack_bin_body(reinterpret_cast<const char*>(v.data()), static_cast<uint32_t>(v.size()));
      return o;
    }
  };

  template <>
  struct convert<ray::ByteBuffer> {
    const msgpack::object& operator()(const msgpack::object& o, ray::ByteBuffer& v) const {
      if (o.type == msgpack::type::BIN) {
        v = ray::ByteBuffer(o.via.bin.ptr, o.via.bin.size);
      } else if (o.type == msgpack::type::STR) {
        v = ray::ByteBuffer(o.via.str.ptr, o.via.str.size);
      } else {
        throw msgpack::type_error();
      }
      return o;
    }
  };

  template <typename T>
  struct pack<ray::ArrayView<T>> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const ray::ArrayView<T>& v) const {
      o.pack(v.span());
      return o;
    }
  };

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
