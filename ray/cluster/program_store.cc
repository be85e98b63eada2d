#include "ray/cluster/program_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "ray/function/function_id.h"

namespace ray::cluster {
namespace {

constexpr char kUploadPrefix[] = ".upload-";

absl::Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return absl::InternalError(absl::StrCat("writing a program file: ", strerror(errno)));
    data.remove_prefix(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProgramStore>> ProgramStore::Open(const std::string& dir,
                                                                 uint64_t max_bytes) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("cannot make ", dir, ": ", strerror(errno)));
  }
  std::unique_ptr<ProgramStore> store(new ProgramStore(dir, max_bytes));
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    std::string name = entry.path().filename().string();
    std::error_code ignored;
    if (std::string_view(name).starts_with(kUploadPrefix)) {
      std::filesystem::remove(entry.path(), ignored);
    } else if (IsFileKey(name) && entry.is_regular_file(ignored)) {
      store->bytes_ += entry.file_size(ignored);
    }
  }
  if (error) return absl::InternalError(absl::StrCat("cannot list ", dir, ": ", error.message()));
  return store;
}

ProgramStore::Upload::Upload(ProgramStore* store, std::string key, uint64_t size, std::string temp,
                             int fd)
    : store_(store), key_(std::move(key)), size_(size), temp_(std::move(temp)), fd_(fd) {}

void ProgramStore::Upload::Close() {
  if (fd_ < 0) return;
  close(fd_);
  fd_ = -1;
  --store_->uploads_;
}

ProgramStore::Upload::~Upload() {
  Close();
  if (!temp_.empty()) {
    unlink(temp_.c_str());
    store_->bytes_ -= size_;
  }
}

absl::Status ProgramStore::Upload::Write(std::string_view data) {
  if (temp_.empty()) return absl::FailedPreconditionError("the upload is over");
  if (data.size() > size_ - written_) {
    return absl::InvalidArgumentError(
        absl::StrCat("more bytes than the ", size_, " the upload of ", key_, " declared"));
  }
  if (absl::Status status = WriteAll(fd_, data); !status.ok()) return status;
  if (IsContentKey(key_)) hash_.Mix(data);
  written_ += data.size();
  return absl::OkStatus();
}

absl::Status ProgramStore::Upload::Commit() {
  if (temp_.empty()) return absl::FailedPreconditionError("the upload is over");
  absl::Status status = absl::OkStatus();
  if (written_ != size_) {
    status = absl::InvalidArgumentError(
        absl::StrCat("the upload of ", key_, " sent ", written_, " of ", size_, " bytes"));
  } else if (IsContentKey(key_)) {
    if (ContentKey(hash_.hash()) != key_) {
      status = absl::InvalidArgumentError(
          absl::StrCat("the bytes uploaded as ", key_, " hash to ", ContentKey(hash_.hash())));
    }
  } else {
    auto build_id = ElfFileBuildId(fd_);
    if (!build_id.ok() || *build_id != key_) {
      status = absl::InvalidArgumentError(
          absl::StrCat("the file uploaded as ", key_, " has ",
                       build_id.ok() ? (build_id->empty() ? "no build-id" : "build-id " + *build_id)
                                     : "no ELF header"));
    }
  }
  if (status.ok()) {
    struct stat existing;
    std::string path = store_->PathOf(key_);
    if (stat(path.c_str(), &existing) == 0) {
      // Another upload of the same file won: keep that one, count this one no more.
      unlink(temp_.c_str());
      store_->bytes_ -= size_;
    } else if (rename(temp_.c_str(), path.c_str()) != 0) {
      status = absl::InternalError(absl::StrCat("cannot store ", key_, ": ", strerror(errno)));
    }
    if (status.ok()) temp_.clear();
  }
  if (!status.ok()) {
    unlink(temp_.c_str());
    store_->bytes_ -= size_;
    temp_.clear();
  }
  Close();
  return status;
}

absl::StatusOr<std::unique_ptr<ProgramStore::Upload>> ProgramStore::BeginUpload(
    const std::string& key, uint64_t size) {
  if (!IsFileKey(key)) return absl::InvalidArgumentError("a malformed program file key");
  if (size > kMaxProgramFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a program file of ", size, " bytes, over the 2 GiB one may be"));
  }
  if (size > max_bytes_ - std::min(bytes_, max_bytes_)) {
    return absl::ResourceExhaustedError(absl::StrCat("the head holds ", bytes_,
                                                     " bytes of programs; ", size,
                                                     " more would pass its bound of ", max_bytes_));
  }
  if (uploads_ >= kMaxUploads) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the head takes at most ", kMaxUploads, " uploads at once"));
  }
  std::string temp = absl::StrCat(dir_, "/", kUploadPrefix, "XXXXXX");
  int fd = mkostemp(temp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot make ", temp, ": ", strerror(errno)));
  bytes_ += size;
  ++uploads_;
  return std::unique_ptr<Upload>(new Upload(this, key, size, std::move(temp), fd));
}

absl::StatusOr<std::vector<std::string>> ProgramStore::PutProgram(const std::string& program_key,
                                                                  ProgramManifest manifest) {
  if (absl::Status checked = CheckManifest(program_key, manifest.executable, manifest.libraries);
      !checked.ok()) {
    return checked;
  }
  std::vector<std::string> missing;
  for (size_t i = 0; i <= manifest.libraries.size(); ++i) {
    ProgramFile& file = i == 0 ? manifest.executable : manifest.libraries[i - 1];
    file.path.clear();
    file.file = nullptr;
    struct stat st;
    if (stat(PathOf(file.key).c_str(), &st) != 0) {
      if (std::find(missing.begin(), missing.end(), file.key) == missing.end()) {
        missing.push_back(file.key);
      }
    } else if (static_cast<uint64_t>(st.st_size) != file.size) {
      return absl::InvalidArgumentError(absl::StrCat("the head holds ", file.key, " with ",
                                                     st.st_size, " bytes, not ", file.size));
    }
  }
  if (missing.empty()) programs_.try_emplace(program_key, std::move(manifest));
  return missing;
}

const ProgramManifest* ProgramStore::FindProgram(const std::string& program_key) const {
  auto it = programs_.find(program_key);
  return it == programs_.end() ? nullptr : &it->second;
}

absl::StatusOr<std::string> ProgramStore::Read(const std::string& key, uint64_t offset,
                                               size_t length) const {
  if (!IsFileKey(key)) return absl::InvalidArgumentError("a malformed program file key");
  auto file = ReadOnlyFile::Open(PathOf(key));
  if (!file.ok()) return absl::NotFoundError(absl::StrCat("the head has no file ", key));
  if (offset > (*file)->size()) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " is past the end of ", key, " (", (*file)->size(), ")"));
  }
  std::string data(static_cast<size_t>(std::min<uint64_t>(length, (*file)->size() - offset)), '\0');
  if (absl::Status read = (*file)->ReadAt(offset, data.data(), data.size()); !read.ok()) {
    return read;
  }
  return data;
}

}  // namespace ray::cluster
