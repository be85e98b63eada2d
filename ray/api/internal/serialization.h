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

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ray/api/internal/value_traits.h"
#include "ray/api/values.h"
#include "ray/object/msgpack_object.h"
#include "ray/object/object_format.h"

namespace ray {

// ---------------------------------------------------------------------------------------------
// Serialization

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
      if constexpr (!internal::MsgpackReadable<T>()) {
        if (absl::Status s = internal::MalformedMsgpack(payload); !s.ok()) return s;
        return internal::WrongTypeError(bytes, TypeName<T>(), "only raw objects hold this type");
      } else {
        return internal::FromMsgpack<T>(bytes, payload);
      }
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

}  // namespace ray
