#include "ray/cluster/program_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace ray::cluster {
namespace {

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("cannot make ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

// A hard link, or a copy where the file system has none.
absl::Status Link(const std::string& from, const std::string& to) {
  if (link(from.c_str(), to.c_str()) == 0) return absl::OkStatus();
  std::error_code error;
  std::filesystem::copy_file(from, to, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot place ", from, " at ", to, ": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ProgramCache> ProgramCache::Open(const std::string& dir) {
  std::error_code error;
  std::filesystem::path parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  if (error) return absl::InternalError(absl::StrCat("cannot make ", dir, ": ", error.message()));
  for (const std::string& sub : {dir, dir + "/files", dir + "/programs"}) {
    if (absl::Status made = MakeDir(sub); !made.ok()) return made;
    if (sub == dir) continue;
    // What fetches that were killed left (a fetch under way is younger).
    auto stale = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
    for (const auto& entry : std::filesystem::directory_iterator(sub, error)) {
      std::error_code ignored;
      if (entry.path().filename().string().starts_with(".") &&
          entry.last_write_time(ignored) < stale && !ignored) {
        std::filesystem::remove_all(entry.path(), ignored);
      }
    }
  }
  return ProgramCache(dir);
}

std::optional<LocalProgram> ProgramCache::Find(const std::string& program_key) const {
  if (!IsProgramKey(program_key)) return std::nullopt;
  std::string root = ProgramPath(program_key);
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(root + "/bin", error)) {
    return LocalProgram{.executable = entry.path().string(), .library_dir = root + "/lib"};
  }
  return std::nullopt;
}

bool ProgramCache::HasFile(const std::string& key) const {
  struct stat st;
  return IsFileKey(key) && stat(FilePath(key).c_str(), &st) == 0;
}

ProgramCache::FileWriter::~FileWriter() {
  if (fd_ >= 0) close(fd_);
  if (!temp_.empty()) unlink(temp_.c_str());
}

absl::Status ProgramCache::FileWriter::WriteAt(uint64_t offset, std::string_view data) {
  if (offset > size_ || data.size() > size_ - offset) {
    return absl::DataLossError(absl::StrCat("bytes past the end of ", key_));
  }
  while (!data.empty()) {
    ssize_t n = pwrite(fd_, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::InternalError(absl::StrCat("writing ", temp_, ": ", strerror(errno)));
    data.remove_prefix(n);
    offset += n;
  }
  return absl::OkStatus();
}

absl::Status ProgramCache::FileWriter::Commit() {
  auto file = ReadOnlyFile::Open(temp_);
  if (!file.ok()) return file.status();
  if ((*file)->size() != size_) {
    return absl::DataLossError(
        absl::StrCat("fetched ", (*file)->size(), " bytes of ", key_, ", not ", size_));
  }
  auto key = FileKey(**file);
  if (!key.ok()) return key.status();
  if (*key != key_) {
    return absl::DataLossError(absl::StrCat("the head sent the file ", *key, " as ", key_));
  }
  if (fchmod(fd_, 0700) != 0 || rename(temp_.c_str(), path_.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot store ", path_, ": ", strerror(errno)));
  }
  temp_.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ProgramCache::FileWriter>> ProgramCache::NewFile(
    const std::string& key, uint64_t size) {
  if (!IsFileKey(key)) return absl::InvalidArgumentError("a malformed program file key");
  std::string temp = dir_ + "/files/.fetch-XXXXXX";
  int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot make ", temp, ": ", strerror(errno)));
  return std::unique_ptr<FileWriter>(new FileWriter(key, size, temp, FilePath(key), fd));
}

absl::StatusOr<LocalProgram> ProgramCache::Install(const std::string& program_key,
                                                   const ProgramManifest& manifest) {
  if (!IsProgramKey(program_key)) return absl::InvalidArgumentError("a malformed program key");
  std::string temp = dir_ + "/programs/.install-XXXXXX";
  if (mkdtemp(temp.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot make ", temp, ": ", strerror(errno)));
  }
  absl::Status status = MakeDir(temp + "/bin");
  if (status.ok()) status = MakeDir(temp + "/lib");
  if (status.ok()) {
    status = Link(FilePath(manifest.executable.key), temp + "/bin/" + manifest.executable.name);
  }
  for (const ProgramFile& library : manifest.libraries) {
    if (status.ok()) status = Link(FilePath(library.key), temp + "/lib/" + library.name);
  }
  if (status.ok() && rename(temp.c_str(), ProgramPath(program_key).c_str()) != 0 &&
      errno != EEXIST && errno != ENOTEMPTY) {
    status = absl::InternalError(
        absl::StrCat("cannot store ", ProgramPath(program_key), ": ", strerror(errno)));
  }
  std::error_code ignored;
  std::filesystem::remove_all(temp, ignored);  // gone if renamed; else another process won
  if (!status.ok()) return status;
  std::optional<LocalProgram> installed = Find(program_key);
  if (!installed.has_value()) {
    return absl::InternalError(
        absl::StrCat("the program ", program_key, " vanished from ", ProgramPath(program_key)));
  }
  return *installed;
}

}  // namespace ray::cluster
