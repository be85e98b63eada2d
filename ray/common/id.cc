#include "ray/common/id.h"

#include <pthread.h>

#include <atomic>
#include <random>

#include "absl/strings/escaping.h"
#include "ray/common/stable_hash.h"

namespace ray {
namespace {

// Bumped in every child after fork(): a forked process must not repeat its parent's IDs
// (workers are forked from a copy of the driver, engine state included).
std::atomic<uint64_t> fork_generation{0};
[[maybe_unused]] const bool kAtForkRegistered = [] {
  pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
  return true;
}();

void FillRandom(uint8_t* out, size_t n) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  thread_local uint64_t generation = fork_generation.load(std::memory_order_relaxed);
  if (uint64_t now = fork_generation.load(std::memory_order_relaxed); now != generation) {
    engine.seed(std::random_device{}());
    generation = now;
  }
  for (size_t i = 0; i < n; i += 8) {
    uint64_t r = engine();
    std::memcpy(out + i, &r, std::min<size_t>(8, n - i));
  }
}

bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

std::string ToHex(const uint8_t* p, size_t n) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(p), n));
}

}  // namespace

TaskID TaskID::FromRandom() {
  TaskID id;
  FillRandom(id.bytes_.data(), 16);
  return id;
}

TaskID TaskID::ForJob(uint32_t job) {
  TaskID id = FromRandom();
  std::memcpy(id.bytes_.data() + 16, &job, 4);
  return id;
}

uint32_t TaskID::Job() const {
  uint32_t job;
  std::memcpy(&job, bytes_.data() + 16, 4);
  return job;
}

TaskID TaskID::FromBinary(std::string_view bytes) {
  TaskID id;
  if (bytes.size() == kSize) std::memcpy(id.bytes_.data(), bytes.data(), kSize);
  return id;
}

bool TaskID::IsNil() const { return AllZero(bytes_.data(), kSize); }
std::string TaskID::Hex() const { return ToHex(bytes_.data(), kSize); }

ObjectID ObjectID::ForReturn(const TaskID& task, uint32_t index) {
  ObjectID id;
  std::memcpy(id.bytes_.data(), task.data(), TaskID::kSize);
  std::memcpy(id.bytes_.data() + TaskID::kSize, &index, 4);
  return id;
}

ObjectID ObjectID::ForPut(const TaskID& task, uint32_t put_index, bool hidden) {
  return ForReturn(task, put_index | kPutIndexBit | (hidden ? kHiddenPutBit : 0));
}

ObjectID ObjectID::FromRandom() { return ForReturn(TaskID::FromRandom(), 0); }

bool ObjectID::FromBinary(std::string_view bytes, ObjectID* out) {
  if (bytes.size() != kSize) return false;
  std::memcpy(out->bytes_.data(), bytes.data(), kSize);
  return true;
}

ObjectID ObjectID::FromBinaryOrNil(std::string_view bytes) {
  ObjectID id;
  FromBinary(bytes, &id);
  return id;
}

ObjectID ObjectID::FromHex(std::string_view hex) {
  if (hex.size() != 2 * kSize) return ObjectID();
  for (char c : hex) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return ObjectID();
  }
  return FromBinaryOrNil(absl::HexStringToBytes(absl::string_view(hex.data(), hex.size())));
}

TaskID ObjectID::Task() const { return TaskID::FromBinary(Binary().substr(0, TaskID::kSize)); }

uint32_t ObjectID::Index() const {
  uint32_t index;
  std::memcpy(&index, bytes_.data() + TaskID::kSize, 4);
  return index;
}

bool ObjectID::IsNil() const { return AllZero(bytes_.data(), kSize); }
std::string ObjectID::Hex() const { return ToHex(bytes_.data(), kSize); }

uint64_t ObjectID::StableHash() const {
  // FNV-1a over the bytes, then a murmur3 finalizer: identical in every process.
  uint64_t h = Fnv1aHash(Binary());
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

}  // namespace ray
