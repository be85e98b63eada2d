#include "ray/store/shared_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ray::store {
namespace {

constexpr size_t kHugePageSize = 2u << 20;

absl::Status ErrnoStatus(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

uint64_t MemInfo(const std::string& field) {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t value = 0;
  while (meminfo >> key >> value) {
    if (key == field + ":") return value;
    meminfo.ignore(256, '\n');
  }
  return 0;
}

SharedMemory::SharedMemory(SharedMemory&& other) noexcept { *this = std::move(other); }

SharedMemory& SharedMemory::operator=(SharedMemory&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = std::exchange(other.fd_, -1);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    huge_pages_ = other.huge_pages_;
  }
  return *this;
}

SharedMemory::~SharedMemory() { Reset(); }

void SharedMemory::Reset() {
  if (data_ != nullptr) munmap(data_, size_);
  if (fd_ >= 0) close(fd_);
  data_ = nullptr;
  fd_ = -1;
  size_ = 0;
}

absl::StatusOr<SharedMemory> SharedMemory::Create(const std::string& name, size_t size,
                                                  bool try_huge_pages) {
  if (size == 0) return absl::InvalidArgumentError("shared memory of size 0");
  if (try_huge_pages && size % kHugePageSize == 0 &&
      MemInfo("HugePages_Free") >= size / kHugePageSize) {
    int fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_HUGETLB);
    if (fd >= 0 && ftruncate(fd, size) == 0) {
      auto mapped = Map(fd, size, /*writable=*/true);
      if (mapped.ok()) {
        mapped->huge_pages_ = true;
        return mapped;
      }
    } else if (fd >= 0) {
      close(fd);
    }
  }
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) return ErrnoStatus("memfd_create");
  if (ftruncate(fd, size) != 0) {
    close(fd);
    return ErrnoStatus("ftruncate");
  }
  return Map(fd, size, /*writable=*/true);
}

absl::StatusOr<SharedMemory> SharedMemory::Map(int fd, size_t size, bool writable) {
  int prot = PROT_READ | (writable ? PROT_WRITE : 0);
  void* data = mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    absl::Status status = ErrnoStatus("mmap");
    close(fd);
    return status;
  }
  SharedMemory memory;
  memory.fd_ = fd;
  memory.data_ = static_cast<uint8_t*>(data);
  memory.size_ = size;
  return memory;
}

}  // namespace ray::store
