// A machine's cache of programs fetched from the cluster head (code shipping,
// docs/CLUSTER.md), in a folder that processes of one user share:
//   <dir>/files/<key>                   each file once, whatever programs hold it (mode 0700)
//   <dir>/programs/<program key>/bin/<executable's name>, .../lib/<library's load name>
// (hard links to the files). A file or a program appears by a rename, complete and with its key
// checked, so processes filling the cache at once never see half of one or corrupt it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "ray/cluster/program_image.h"

namespace ray::cluster {

// Where a fetched program is on this machine.
struct LocalProgram {
  std::string executable;  // its executable (mode 0700)
  // Every shipped library under the name it is loaded by: run with LD_LIBRARY_PATH=<this>.
  std::string library_dir;
};

class ProgramCache {
 public:
  // Makes `dir` and its folders (mode 0700) if absent; removes temporary files and folders over
  // an hour old (what killed fetches left).
  static absl::StatusOr<ProgramCache> Open(const std::string& dir);

  // The program `program_key` if it is cached (complete), else nullopt.
  std::optional<LocalProgram> Find(const std::string& program_key) const;
  bool HasFile(const std::string& key) const;

  // A file being written into the cache. Destroyed before Commit() succeeded: its bytes are
  // removed.
  class FileWriter {
   public:
    ~FileWriter();
    absl::Status WriteAt(uint64_t offset, std::string_view data);
    // Checks its size and that its bytes are the file its key names, and puts it in the cache.
    // DataLoss if they are not.
    absl::Status Commit();

   private:
    friend class ProgramCache;
    FileWriter(std::string key, uint64_t size, std::string temp, std::string path, int fd)
        : key_(std::move(key)),
          size_(size),
          temp_(std::move(temp)),
          path_(std::move(path)),
          fd_(fd) {}
    const std::string key_;
    const uint64_t size_;
    std::string temp_;  // "" once committed
    const std::string path_;
    int fd_;
  };
  // Starts writing the file `key` of `size` bytes.
  absl::StatusOr<std::unique_ptr<FileWriter>> NewFile(const std::string& key, uint64_t size);

  // Puts the program `program_key`, whose files are all cached, in the cache (if another
  // process did first, that one stays) and says where it is.
  absl::StatusOr<LocalProgram> Install(const std::string& program_key,
                                       const ProgramManifest& manifest);

 private:
  explicit ProgramCache(std::string dir) : dir_(std::move(dir)) {}
  std::string FilePath(const std::string& key) const { return dir_ + "/files/" + key; }
  std::string ProgramPath(const std::string& program_key) const {
    return dir_ + "/programs/" + program_key;
  }
  std::string dir_;
};

}  // namespace ray::cluster
