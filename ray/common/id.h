// Identifiers of tasks and objects. An ObjectID is the ID of the task that made it followed
// by an index, so an object's lineage is known from its ID alone.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/hash/hash.h"

namespace ray {

// A 20-byte task identifier: 16 random bytes and 4 that name its job (the driver session whose
// program submitted it, directly or through its tasks; 0: none). Objects carry their task's job,
// so a node can free a driver's objects when the driver is gone.
class TaskID {
 public:
  static constexpr size_t kSize = 20;
  TaskID() = default;
  static TaskID FromRandom();
  static TaskID ForJob(uint32_t job);  // random, of job `job`
  uint32_t Job() const;
  // REQUIRES: bytes.size() == kSize (otherwise returns Nil()).
  static TaskID FromBinary(std::string_view bytes);
  static TaskID Nil() { return TaskID(); }

  bool IsNil() const;
  std::string_view Binary() const { return {reinterpret_cast<const char*>(bytes_.data()), kSize}; }
  std::string Hex() const;
  const uint8_t* data() const { return bytes_.data(); }

  friend bool operator==(const TaskID&, const TaskID&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const TaskID& id) {
    return H::combine(std::move(h), id.Binary());
  }

 private:
  std::array<uint8_t, kSize> bytes_{};
};

// A 24-byte object identifier: the creating task's ID and a 4-byte index. Return values have
// indexes 1..n; objects made by Put have the high bit set, and hidden ones (see PutOptions in
// core_runtime.h) the next bit too.
class ObjectID {
 public:
  static constexpr size_t kSize = TaskID::kSize + 4;
  static constexpr uint32_t kPutIndexBit = 0x80000000u;
  static constexpr uint32_t kHiddenPutBit = 0x40000000u;
  ObjectID() = default;
  static ObjectID ForReturn(const TaskID& task, uint32_t index);
  static ObjectID ForPut(const TaskID& task, uint32_t put_index, bool hidden = false);
  static ObjectID FromRandom();
  // Returns false for input of the wrong size.
  static bool FromBinary(std::string_view bytes, ObjectID* out);
  static ObjectID FromBinaryOrNil(std::string_view bytes);
  static ObjectID FromHex(std::string_view hex);  // Nil on malformed input.

  TaskID Task() const;
  uint32_t Index() const;
  bool IsPut() const { return (Index() & kPutIndexBit) != 0; }
  bool IsHiddenPut() const { return IsPut() && (Index() & kHiddenPutBit) != 0; }
  // Which Put of its task made this object.
  uint32_t PutIndex() const { return Index() & ~(kPutIndexBit | kHiddenPutBit); }
  bool IsNil() const;
  std::string_view Binary() const { return {reinterpret_cast<const char*>(bytes_.data()), kSize}; }
  std::string Hex() const;
  const uint8_t* data() const { return bytes_.data(); }

  friend bool operator==(const ObjectID&, const ObjectID&) = default;
  friend bool operator<(const ObjectID& a, const ObjectID& b) { return a.bytes_ < b.bytes_; }
  template <typename H>
  friend H AbslHashValue(H h, const ObjectID& id) {
    return H::combine(std::move(h), id.Binary());
  }
  // A well-mixed 64-bit hash, stable across processes (the store's shared index uses it).
  uint64_t StableHash() const;

 private:
  std::array<uint8_t, kSize> bytes_{};
};

}  // namespace ray
