// Shared by the object transfer tests: stores' clients, objects filled with a pattern that
// differs at every offset and between objects, and checks of a copy byte for byte.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "ray/common/id.h"
#include "ray/store/client.h"
#include "tests/store/store_process.h"

namespace ray::testing {

inline constexpr char kToken[] = "transfer-test-token-0123456789abcdef";

inline std::unique_ptr<store::StoreClient> ConnectTo(const StoreProcess& store) {
  auto client = store::StoreClient::Connect(store.socket_path());
  if (!client.ok()) ADD_FAILURE() << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

inline uint8_t PatternByte(const ObjectID& id, uint64_t i) {
  uint64_t x = (i >> 3) * 0x9E3779B97F4A7C15ull + static_cast<uint8_t>(id.Binary()[0]);
  return static_cast<uint8_t>((x >> (8 * (i & 7))) ^ (x >> 56));
}

// Creates, fills and seals object `id` of `size` bytes in `store`.
inline void PutPattern(store::StoreClient& store, const ObjectID& id, uint64_t size) {
  auto object = store.Create(id, size);
  ASSERT_TRUE(object.ok()) << object.status();
  uint8_t* data = object->data();
  for (uint64_t i = 0; i < size; ++i) data[i] = PatternByte(id, i);
  ASSERT_TRUE(store.Seal(*std::move(object)).ok());
  ASSERT_TRUE(store.Flush().ok());
}

// Empty if `store` holds object `id` with the pattern's `size` bytes; else what differs.
inline std::string CheckPattern(store::StoreClient& store, const ObjectID& id, uint64_t size) {
  auto buffer = store.TryGet(id);
  if (!buffer) return "not sealed in the store";
  if (!buffer->ok()) return std::string(buffer->status().message());
  if ((*buffer)->size() != size) return absl::StrCat("size ", (*buffer)->size(), " not ", size);
  const uint8_t* data = (*buffer)->data();
  for (uint64_t i = 0; i < size; ++i) {
    if (data[i] != PatternByte(id, i)) return absl::StrCat("byte ", i, " differs");
  }
  return "";
}

inline std::string Local(int port) { return absl::StrCat("127.0.0.1:", port); }

}  // namespace ray::testing
