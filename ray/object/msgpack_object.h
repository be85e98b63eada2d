// Objects holding one MessagePack value (msgpack-cxx 4.1): writing any value msgpack-cxx can
// pack, and reading it back safely (malformed input gives DataLoss, never a crash, and never
// makes msgpack allocate more than a small multiple of the payload). Floats are always msgpack
// floats (msgpack-cxx would write 2.0 as the int 2). What both frontends and the engine use for
// values that cross languages; the C++ API's typed serialization builds on it
// (ray/api/internal/serialization.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <msgpack.hpp>
#include <new>
#include <span>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ray/object/msgpack_floats.h"
#include "ray/object/object_format.h"

namespace ray {
namespace internal {

absl::Status MalformedMsgpack(std::span<const uint8_t> payload);  // OK if well-formed
// Depth limit of msgpack values (containers in containers).
inline constexpr size_t kMaxMsgpackDepth = 512;

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

}  // namespace internal
}  // namespace ray

// Floats are written as msgpack floats, also 2.0 (msgpack_floats.h).
RAY_MSGPACK_EXACT_FLOATS(ray::internal::CountingStream)
RAY_MSGPACK_EXACT_FLOATS(ray::internal::SpanStream)

namespace ray {
namespace internal {

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

inline bool ReferenceAll(msgpack::type::object_type, size_t, void*) { return true; }

template <typename T>
absl::StatusOr<T> FromMsgpack(std::span<const uint8_t> bytes, std::span<const uint8_t> payload) {
  if constexpr (std::is_arithmetic_v<T>) {
    T value{};
    if (ScalarTo(DecodeMsgpackScalar(payload), &value)) return value;
    // Not a scalar, or the wrong one: the general path below finds out which, and says so.
  }
  if (absl::Status s = MalformedMsgpack(payload); !s.ok()) return s;
  {
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

// A value as a msgpack object, also for types the C++ API stores raw (std::string is a msgpack
// str, std::vector<double> an array of floats, std::vector<uint8_t> a bin): what other
// languages read (values crossing to Python, ray/api/py_function.h and RAY_REMOTE).
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

// Reads a msgpack object into a T (any type msgpack-cxx converts to). InvalidArgument for
// another format or a value that does not convert, Aborted for an error object, DataLoss for
// malformed bytes.
template <typename T>
absl::StatusOr<T> DeserializeMsgpack(std::span<const uint8_t> bytes) {
  absl::StatusOr<ObjectHeader> header = ReadHeader(bytes);
  if (!header.ok()) return header.status();
  switch (static_cast<ObjectFormat>(header->format)) {
    case ObjectFormat::kMsgpack:
      return internal::FromMsgpack<T>(bytes, bytes.subspan(kObjectHeaderSize));
    case ObjectFormat::kError:
      return internal::ErrorObjectStatus(bytes);
    default:
      return internal::WrongTypeError(bytes, TypeName<T>(), "not a msgpack object");
  }
}

}  // namespace ray
