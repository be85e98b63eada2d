// A mapping of a shared-memory file (memfd). The store creates the files; clients receive
// their descriptors over the store's unix socket and map them once for their lifetime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace ray::store {

// A field of /proc/meminfo ("MemTotal" in KiB, "HugePages_Free" in pages); 0 if absent.
uint64_t MemInfo(const std::string& field);

class SharedMemory {
 public:
  SharedMemory() = default;
  SharedMemory(SharedMemory&& other) noexcept;
  SharedMemory& operator=(SharedMemory&& other) noexcept;
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  ~SharedMemory();

  // Creates an anonymous shared file of `size` bytes and maps it read-write. With
  // `try_huge_pages`, uses 2 MiB pages (MFD_HUGETLB) when the system has enough free, which
  // cuts page faults 512-fold; falls back to ordinary pages otherwise.
  static absl::StatusOr<SharedMemory> Create(const std::string& name, size_t size,
                                             bool try_huge_pages = false);
  // Maps `size` bytes of the file `fd`. Takes ownership of `fd` (closed on destruction).
  static absl::StatusOr<SharedMemory> Map(int fd, size_t size, bool writable);

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }
  bool huge_pages() const { return huge_pages_; }

 private:
  void Reset();

  int fd_ = -1;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool huge_pages_ = false;
};

}  // namespace ray::store
