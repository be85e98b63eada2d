// A C++ driver's program as code shipping sees it: the executable and the shared libraries it
// loaded that are not the system's, each keyed by its content (its ELF build-id, else a hash of
// its bytes). Nodes fetch a program from the head by its key (head_client.h), never from a path
// on their own file system. See "Code shipping" in docs/CLUSTER.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ray::cluster {

// Bounds on what a program may be, checked by the uploader, the head and the fetcher alike.
inline constexpr uint64_t kMaxProgramFileBytes = uint64_t{2} << 30;  // 2 GiB
inline constexpr size_t kMaxProgramLibraries = 4096;

// A regular file open for reading: stays readable when its path is deleted or replaced.
// Closed when the last copy of its pointer goes.
class ReadOnlyFile {
 public:
  // NotFound, PermissionDenied or Internal (with errno's words) if `path` cannot be opened;
  // FailedPrecondition if it is not a regular file.
  static absl::StatusOr<std::shared_ptr<const ReadOnlyFile>> Open(const std::string& path);
  ~ReadOnlyFile();
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  // Reads exactly `length` bytes from `offset` into `out`; DataLoss if the file is shorter.
  absl::Status ReadAt(uint64_t offset, char* out, size_t length) const;

 private:
  ReadOnlyFile(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int fd_;
  uint64_t size_;
};

// One file of a program.
struct ProgramFile {
  std::string key;   // FileKey() of its bytes
  std::string name;  // the file name it is loaded by (for the executable: its file name)
  uint64_t size = 0;
  // Where this process found it, for messages; "" in a manifest read from the wire.
  std::string path;
  // Its bytes (null in a manifest read from the wire).
  std::shared_ptr<const ReadOnlyFile> file;
};

// What a program is: its files, and the key that names it.
struct ProgramImage {
  // ProgramKey(executable, libraries): the executable's key, a dot, and 16 hex digits of a hash
  // of every file's name, key and size, so a library rebuilt under an unchanged executable makes
  // another program.
  std::string key;
  // What names its actor host (ClusterHead.actorHost): the executable's key, and that of the
  // library holding libray's code when it is not the executable (Python's _raylet.so), so that
  // programs differing only in other libraries they loaded (a script's C++ library) share one.
  // A libray in a system folder does not ship, so it adds nothing: the executable's key alone.
  std::string host_key;
  ProgramFile executable;
  std::vector<ProgramFile> libraries;  // sorted by name, names unique
};

// A program as the head records it: its files' keys, names and sizes (no paths, no bytes).
struct ProgramManifest {
  ProgramFile executable;
  std::vector<ProgramFile> libraries;  // sorted by name
};

// The running process's program. The executable is read through /proc/self/exe, so it ships
// even if its file was deleted or moved after the process started. A library ships unless it
// is the system's: the dynamic loader, the vDSO, and files under /lib, /lib32, /lib64,
// /usr/lib, /usr/lib32 and /usr/lib64 (the nodes must have the same system libraries); those
// under /usr/local/lib, /opt or a build tree (Bazel's `_solib_*` folders) ship. A library is
// opened at its load path and must still have the build-id it was loaded with
// (FailedPrecondition if it was replaced); of two libraries of one file name the first loaded
// ships. Errors: the executable or a library cannot be read, or is over kMaxProgramFileBytes.
absl::StatusOr<ProgramImage> CurrentProgram();

// The key of a file's bytes: its ELF build-id (lowercase hex) if it has one, else "content-"
// and 32 hex digits of FNV-1a-128 over its bytes.
absl::StatusOr<std::string> FileKey(const ReadOnlyFile& file);
// "content-" and the hex digits of `hash`.
std::string ContentKey(unsigned __int128 hash);
// Whether `key` has the form of a file key (a build-id of 8 to 128 hex digits, or a content key).
bool IsFileKey(std::string_view key);
// Whether `key` is a content key (the bytes' hash, not a build-id).
bool IsContentKey(std::string_view key);
// Whether `key` has the form of a program key (a file key, a dot, 16 hex digits).
bool IsProgramKey(std::string_view key);
// Whether `name` can name a file in one folder: not empty, at most 255 bytes, no '/' or NUL,
// not "." or "..".
bool IsLoadName(std::string_view name);
// The key of a program of these files (see ProgramImage::key).
std::string ProgramKey(const ProgramFile& executable, const std::vector<ProgramFile>& libraries);
// OK if every file has a well-formed key, name and size, library names are unique and sorted,
// there are at most kMaxProgramLibraries, and `program_key` is ProgramKey() of them;
// InvalidArgument saying what is wrong otherwise.
absl::Status CheckManifest(const std::string& program_key, const ProgramFile& executable,
                           const std::vector<ProgramFile>& libraries);

}  // namespace ray::cluster
