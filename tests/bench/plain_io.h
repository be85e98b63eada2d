// What the benchmarks' plain baselines share: whole reads and writes on a descriptor, and
// buffers whose pages are touched before they are timed.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ray::bench {

// Writes all of `data`; false if the descriptor failed or closed first.
inline bool WriteAll(int fd, const void* data, size_t size) {
  auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= n;
  }
  return true;
}

// Reads exactly `size` bytes; false if the descriptor failed or closed first.
inline bool ReadAll(int fd, void* data, size_t size) {
  auto* p = static_cast<uint8_t*>(data);
  while (size > 0) {
    ssize_t n = read(fd, p, size);
    if (n <= 0) return false;
    p += n;
    size -= n;
  }
  return true;
}

// `size` bytes of `fill`, every page touched (so no first-touch fault lands in a timing); null
// if the memory cannot be had. Never freed: a benchmark keeps it to its end.
inline uint8_t* Prefaulted(size_t size, uint8_t fill) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  std::memset(p, fill, size);
  return static_cast<uint8_t*>(p);
}

}  // namespace ray::bench
