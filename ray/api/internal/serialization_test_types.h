// Value types and helpers shared by the serialization tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ray/api/internal/serialization.h"

namespace ray::testing {

struct Inner {
  int id = 0;
  std::vector<double> weights;
  RAY_SERIALIZABLE(id, weights);
  friend bool operator==(const Inner&, const Inner&) = default;
};

struct Record {
  std::string name;
  int64_t count = 0;
  std::optional<std::string> note;
  std::vector<Inner> parts;
  std::map<std::string, std::vector<int>> index;
  RAY_SERIALIZABLE(name, count, note, parts, index);
  friend bool operator==(const Record&, const Record&) = default;
};

struct Pixel {
  uint8_t r, g, b, a;
  RAY_RAW_ELEMENT();
  friend bool operator==(const Pixel&, const Pixel&) = default;
};

struct OtherPixel {  // same size as Pixel, a different type
  uint16_t lo, hi;
  RAY_RAW_ELEMENT();
};

inline std::span<const uint8_t> Bytes(const std::string& s) { return AsBytes(s); }

inline ObjectHeader HeaderOf(const std::string& object) {
  absl::StatusOr<ObjectHeader> h = ReadHeader(Bytes(object));
  EXPECT_TRUE(h.ok()) << h.status();
  return h.ok() ? *h : ObjectHeader{};
}

// Memory aligned to 64 bytes, as the store gives out.
struct AlignedBuffer {
  explicit AlignedBuffer(size_t n)
      : size(n), data(static_cast<uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64 + 64))) {}
  ~AlignedBuffer() { std::free(data); }
  std::span<uint8_t> span() const { return {data, size}; }
  size_t size;
  uint8_t* data;
};

template <typename T>
T RoundTrip(const T& value) {
  const std::string object = Serialize(value);
  EXPECT_EQ(object.size(), SerializedSize(value));
  AlignedBuffer buffer(object.size());
  EXPECT_EQ(SerializeInto(value, buffer.span()), object.size());
  EXPECT_EQ(std::memcmp(buffer.data, object.data(), object.size()), 0);
  absl::StatusOr<T> back = Deserialize<T>(Bytes(object));
  EXPECT_TRUE(back.ok()) << back.status();
  return back.ok() ? *std::move(back) : T{};
}

}  // namespace ray::testing
