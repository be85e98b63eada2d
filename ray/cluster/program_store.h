// The head's store of shipped programs (code shipping, docs/CLUSTER.md): files by key in one
// folder, each written through an upload that becomes visible under its key only once its bytes
// are checked to be the file that key names, and the manifests of the programs whose files it
// holds. No RPC (head_server.cc serves it); used from the head's event loop only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "ray/cluster/program_image.h"
#include "ray/common/stable_hash.h"

namespace ray::cluster {

class ProgramStore {
 public:
  // Keeps files in `dir`, made (mode 0700) if absent; removes uploads a previous head left
  // there. At most `max_bytes` in files and uploads under way together.
  static absl::StatusOr<std::unique_ptr<ProgramStore>> Open(const std::string& dir,
                                                            uint64_t max_bytes);

  // A file being written. Destroyed before Commit() succeeded: its bytes are removed and no
  // reader ever saw them. Must not outlive its store.
  class Upload {
   public:
    ~Upload();
    // Appends `data`. InvalidArgument past the size the upload declared.
    absl::Status Write(std::string_view data);
    // Makes the file readable under its key. InvalidArgument if it is shorter than declared or
    // its bytes are not those its key names (another build-id, or another hash); the upload is
    // then void.
    absl::Status Commit();

   private:
    friend class ProgramStore;
    Upload(ProgramStore* store, std::string key, uint64_t size, std::string temp, int fd);
    void Close();
    ProgramStore* store_;
    const std::string key_;
    const uint64_t size_;
    std::string temp_;  // "" once committed or void
    int fd_;
    uint64_t written_ = 0;
    Fnv1a128 hash_;  // of the bytes written, for a content key
  };

  // At most this many uploads under way at once (each holds a file open).
  static constexpr int kMaxUploads = 64;

  // Starts the upload of the file `key` of `size` bytes. InvalidArgument for a malformed key or
  // a size over kMaxProgramFileBytes; ResourceExhausted past the store's bound on bytes or
  // kMaxUploads.
  absl::StatusOr<std::unique_ptr<Upload>> BeginUpload(const std::string& key, uint64_t size);

  // Records the program `program_key` (checked with CheckManifest). Returns the keys of its
  // files the store lacks (then nothing is recorded: upload them and put it again), empty once
  // recorded. InvalidArgument for a malformed manifest or a file whose stored size differs.
  absl::StatusOr<std::vector<std::string>> PutProgram(const std::string& program_key,
                                                      ProgramManifest manifest);
  // A recorded program, or null.
  const ProgramManifest* FindProgram(const std::string& program_key) const;

  // Up to `length` bytes of the file `key` from `offset` (fewer at its end). NotFound for a
  // file the store does not hold; OutOfRange for an offset past its end.
  absl::StatusOr<std::string> Read(const std::string& key, uint64_t offset, size_t length) const;

  // Bytes held: stored files and uploads under way (by their declared size).
  uint64_t bytes() const { return bytes_; }

 private:
  ProgramStore(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}
  std::string PathOf(const std::string& key) const { return dir_ + "/" + key; }

  const std::string dir_;
  const uint64_t max_bytes_;
  uint64_t bytes_ = 0;
  int uploads_ = 0;  // open
  absl::flat_hash_map<std::string, ProgramManifest> programs_;
};

}  // namespace ray::cluster
