// The value types of the public API and how user types opt in to serialization. Which
// C++ types a task argument, a result or an object can be (decided at compile time):
//   raw      std::vector<E> (except vector<bool>), std::span<E> / std::span<const E>,
//            ArrayView<E>, std::string, std::string_view and ByteBuffer, where the element E is
//            arithmetic, std::byte, or a trivially-copyable struct that opts in with
//            RAY_RAW_ELEMENT() (or by specializing ray::RawElementOptIn). Stored as the
//            elements lie in memory (one memcpy) and readable without a copy (ray::GetView).
//   msgpack  everything else msgpack-cxx can pack: arithmetic and bool, std::vector / std::map /
//            std::unordered_map / std::set / std::tuple / std::pair / std::optional /
//            std::array, nested up to 512 levels, and user structs that list their fields with
//            RAY_SERIALIZABLE(a, b, ...) (msgpack's MSGPACK_DEFINE: an array of the fields;
//            MSGPACK_DEFINE_MAP gives a map) or that have msgpack adaptors of their own (declare
//            them with MsgpackAdaptorOptIn). Readable from other languages.
// Other types are refused at compile time, naming the part that cannot be serialized.
// docs/API.md lists the types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <msgpack.hpp>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

// Declares the fields a user struct serializes (as a msgpack array, in this order):
//   struct Point { double x, y; std::string label; RAY_SERIALIZABLE(x, y, label); };
// The struct needs a default constructor. Same as msgpack's MSGPACK_DEFINE.
#define RAY_SERIALIZABLE(...) MSGPACK_DEFINE(__VA_ARGS__)

// Inside a trivially-copyable struct: store vectors/spans of it raw (its bytes as they are, so
// it must not hold pointers) and allow zero-copy views of it:
//   struct Pixel { uint8_t r, g, b, a; RAY_RAW_ELEMENT(); };
#define RAY_RAW_ELEMENT() using ray_raw_element_tag = void

namespace ray {

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
