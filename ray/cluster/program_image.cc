#include "ray/cluster/program_image.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ray/common/stable_hash.h"
#include "ray/function/function_id.h"

namespace ray::cluster {
namespace {

constexpr std::string_view kContentPrefix = "content-";
constexpr std::string_view kDeleted = " (deleted)";

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Libraries every node is expected to have itself (the nodes run the same OS release).
bool IsSystemPath(const std::string& path) {
  static constexpr std::string_view kSystemDirs[] = {"/lib/",     "/lib32/",     "/lib64/",
                                                     "/usr/lib/", "/usr/lib32/", "/usr/lib64/"};
  for (std::string_view dir : kSystemDirs) {
    if (std::string_view(path).starts_with(dir)) return true;
  }
  return false;
}

std::string BaseName(std::string path) {
  if (std::string_view(path).ends_with(kDeleted)) path.resize(path.size() - kDeleted.size());
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The file `path` (opened as `open_path`) with its key; the build-id it must have if not "".
absl::StatusOr<ProgramFile> DescribeFile(const std::string& path, const std::string& open_path,
                                         const std::string& loaded_build_id) {
  auto file = ReadOnlyFile::Open(open_path);
  if (!file.ok()) return file.status();
  if ((*file)->size() > kMaxProgramFileBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is ", (*file)->size(), " bytes, over the 2 GiB a program file may be"));
  }
  auto key = FileKey(**file);
  if (!key.ok()) return key.status();
  if (!loaded_build_id.empty() && *key != loaded_build_id) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has build-id ", *key, " on disk but ", loaded_build_id,
                     " as loaded: it was replaced since; restart the program"));
  }
  ProgramFile described;
  described.key = *std::move(key);
  described.name = BaseName(path);
  described.size = (*file)->size();
  described.path = path;
  described.file = *std::move(file);
  return described;
}

void AppendField(std::string* out, std::string_view field) {
  absl::StrAppend(out, field.size(), ":", std::string(field), ";");
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ReadOnlyFile>> ReadOnlyFile::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    std::string message = absl::StrCat("cannot open ", path, ": ", strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES || error == EPERM) return absl::PermissionDeniedError(message);
    return absl::InternalError(message);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  return std::shared_ptr<const ReadOnlyFile>(new ReadOnlyFile(fd, st.st_size));
}

ReadOnlyFile::~ReadOnlyFile() { close(fd_); }

absl::Status ReadOnlyFile::ReadAt(uint64_t offset, char* out, size_t length) const {
  while (length > 0) {
    ssize_t n = pread(fd_, out, length, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::DataLossError(absl::StrCat("reading a program file at ", offset, ": ",
                                              n == 0 ? "it ended early" : strerror(errno)));
    }
    out += n;
    offset += n;
    length -= n;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> FileKey(const ReadOnlyFile& file) {
  auto build_id = ElfFileBuildId(file.fd());
  if (build_id.ok() && !build_id->empty()) return *build_id;
  Fnv1a128 hash;
  std::string chunk(1 << 20, '\0');
  for (uint64_t offset = 0; offset < file.size(); offset += chunk.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), file.size() - offset));
    if (absl::Status read = file.ReadAt(offset, chunk.data(), n); !read.ok()) return read;
    hash.Mix(std::string_view(chunk.data(), n));
  }
  return ContentKey(hash.hash());
}

std::string ContentKey(unsigned __int128 hash) {
  return absl::StrFormat("%s%016x%016x", kContentPrefix, static_cast<uint64_t>(hash >> 64),
                         static_cast<uint64_t>(hash));
}

bool IsContentKey(std::string_view key) {
  return std::string_view(key).starts_with(kContentPrefix) &&
         key.size() == kContentPrefix.size() + 32 && IsHex(key.substr(kContentPrefix.size()));
}

bool IsFileKey(std::string_view key) {
  return IsContentKey(key) || (key.size() >= 8 && key.size() <= 128 && IsHex(key));
}

bool IsProgramKey(std::string_view key) {
  size_t dot = key.rfind('.');
  return dot != std::string_view::npos && IsFileKey(key.substr(0, dot)) &&
         key.size() - dot - 1 == 16 && IsHex(key.substr(dot + 1));
}

bool IsLoadName(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::string ProgramKey(const ProgramFile& executable, const std::vector<ProgramFile>& libraries) {
  std::string described;
  auto describe = [&described](const ProgramFile& file) {
    AppendField(&described, file.name);
    AppendField(&described, file.key);
    AppendField(&described, absl::StrCat(file.size));
  };
  describe(executable);
  for (const ProgramFile& library : libraries) describe(library);
  return absl::StrFormat("%s.%016x", executable.key, Fnv1aHash(described));
}

absl::Status CheckManifest(const std::string& program_key, const ProgramFile& executable,
                           const std::vector<ProgramFile>& libraries) {
  if (libraries.size() > kMaxProgramLibraries) {
    return absl::InvalidArgumentError(
        absl::StrCat("a program of ", libraries.size(), " libraries, over ", kMaxProgramLibraries));
  }
  for (size_t i = 0; i <= libraries.size(); ++i) {
    const ProgramFile& file = i == 0 ? executable : libraries[i - 1];
    if (!IsFileKey(file.key) || !IsLoadName(file.name) || file.size > kMaxProgramFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("a program file with a malformed key, name or size (name \"",
                       file.name.substr(0, 64), "\", ", file.size, " bytes)"));
    }
    if (i >= 2 && !(libraries[i - 2].name < file.name)) {
      return absl::InvalidArgumentError("a program's libraries are not sorted by unique names");
    }
  }
  if (ProgramKey(executable, libraries) != program_key) {
    return absl::InvalidArgumentError(
        absl::StrCat("the program key ", program_key.substr(0, 200), " is not that of its files"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ProgramImage> CurrentProgram() {
  std::vector<LoadedModule> modules = LoadedModules();
  if (modules.empty()) return absl::InternalError("no loaded modules");
  ProgramImage image;
  auto executable = DescribeFile(modules[0].path, "/proc/self/exe", modules[0].build_id);
  if (!executable.ok()) return executable.status();
  image.executable = *std::move(executable);
  if (!IsLoadName(image.executable.name)) image.executable.name = "program";
  const uintptr_t loader = getauxval(AT_BASE);
  const uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
  absl::flat_hash_set<std::string> names;
  for (size_t i = 1; i < modules.size(); ++i) {
    const LoadedModule& m = modules[i];
    if (m.path.find('/') == std::string::npos) continue;  // the vDSO: no file
    if ((loader != 0 && m.load_bias == loader) || (vdso != 0 && m.load_bias == vdso)) continue;
    std::error_code ignored;
    std::string real = std::filesystem::weakly_canonical(m.path, ignored).string();
    if (IsSystemPath(m.path) || IsSystemPath(real)) continue;
    if (!IsLoadName(BaseName(m.path)) || !names.insert(BaseName(m.path)).second) continue;
    auto library = DescribeFile(m.path, m.path, m.build_id);
    if (!library.ok()) return library.status();
    image.libraries.push_back(*std::move(library));
  }
  std::sort(image.libraries.begin(), image.libraries.end(),
            [](const ProgramFile& a, const ProgramFile& b) { return a.name < b.name; });
  if (image.libraries.size() > kMaxProgramLibraries) {
    return absl::FailedPreconditionError(
        absl::StrCat("this program loaded ", image.libraries.size(), " libraries to ship, over ",
                     kMaxProgramLibraries));
  }
  image.key = ProgramKey(image.executable, image.libraries);
  image.host_key = image.executable.key;
  Dl_info here{};
  if (dladdr(reinterpret_cast<const void*>(&CurrentProgram), &here) != 0 &&
      here.dli_fname != nullptr) {
    for (const ProgramFile& library : image.libraries) {
      if (library.path == here.dli_fname) absl::StrAppend(&image.host_key, "+", library.key);
    }
  }
  return image;
}

}  // namespace ray::cluster
