// HeadClient's code shipping: UploadProgram and FetchProgram (head_client.h).
#include <kj/debug.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ray/cluster/head_client.h"
#include "ray/cluster/head_client_state.h"
#include "ray/cluster/program_wire.h"

namespace ray::cluster {
namespace {

using rpc::cluster::ProgramFileUpload;

constexpr uint64_t kChunkBytes = 1 << 20;
constexpr int kReadsInFlight = 4;  // per file being fetched
// A head that answers no call for this long is held lost.
constexpr auto kUnansweredAfter = 60 * kj::SECONDS;

absl::Status Lost(const char* doing, const kj::Exception& e) {
  return absl::UnavailableError(absl::StrCat(doing, ": ", e.getDescription().cStr()));
}

// A call's answer, or an exception if none came within kUnansweredAfter.
template <typename T>
kj::Promise<T> Answered(kj::Timer& timer, kj::Promise<T> call) {
  return timer.timeoutAfter(kUnansweredAfter, kj::mv(call));
}

// Writes the file from `offset` on, one chunk per call, each once the stream's flow control lets
// it go. Resolves to a read error of the local file, if any.
kj::Promise<absl::Status> SendChunks(kj::Timer& timer, ProgramFileUpload::Client upload,
                                     const ProgramFile& file, uint64_t offset) {
  if (offset >= file.size) return absl::OkStatus();
  auto request = upload.writeRequest();
  size_t n = static_cast<size_t>(std::min(kChunkBytes, file.size - offset));
  auto data = request.initData(n);
  absl::Status read = file.file->ReadAt(offset, reinterpret_cast<char*>(data.begin()), n);
  if (!read.ok()) return read;
  return Answered(timer, request.send())
      .then([&timer, upload = kj::mv(upload), &file, offset, n]() mutable {
        return SendChunks(timer, kj::mv(upload), file, offset + n);
      });
}

// Reads chunks `lane`, `lane` + kReadsInFlight, ... of the file `key` into `out`.
kj::Promise<absl::Status> ReadLane(kj::Timer& timer, ClusterHead::Client head,
                                   ProgramCache::FileWriter* out, const ProgramFile& file,
                                   uint64_t offset) {
  if (offset >= file.size) return absl::OkStatus();
  auto request = head.readProgramFileRequest();
  uint64_t n = std::min(kChunkBytes, file.size - offset);
  request.setKey(file.key);
  request.setOffset(offset);
  request.setLength(static_cast<uint32_t>(n));
  return Answered(timer, request.send())
      .then([&timer, head, out, &file, offset,
             n](capnp::Response<ClusterHead::ReadProgramFileResults>&& read) mutable
            -> kj::Promise<absl::Status> {
        if (read.hasError() && read.getError().size() > 0) {
          return absl::DataLossError(absl::StrCat("the cluster head cannot read ", file.key, ": ",
                                                  read.getError().cStr()));
        }
        auto data = read.getData();
        if (data.size() != n) {
          return absl::DataLossError(absl::StrCat("the cluster head sent ", data.size(),
                                                  " bytes of ", file.key, " at ", offset, ", not ",
                                                  n));
        }
        absl::Status written = out->WriteAt(offset, std::string_view(data.asChars().begin(), n));
        if (!written.ok()) return written;
        return ReadLane(timer, head, out, file, offset + kChunkBytes * kReadsInFlight);
      });
}

}  // namespace

absl::Status HeadClient::UploadProgram(const ProgramImage& image) {
  State* s = state_.get();
  absl::flat_hash_map<std::string, const ProgramFile*> by_key;
  by_key[image.executable.key] = &image.executable;
  for (const ProgramFile& library : image.libraries) by_key.try_emplace(library.key, &library);
  auto put = [&]() -> absl::StatusOr<std::vector<std::string>> {
    using Result = absl::StatusOr<std::vector<std::string>>;
    return s->loop->executor().executeSync([&]() -> kj::Promise<Result> {
      auto request = s->head.putProgramRequest();
      request.setProgramKey(image.key);
      FillProgramManifest(image.executable, image.libraries, request.initManifest());
      return Answered(s->io->provider->getTimer(), request.send())
          .then(
              [](capnp::Response<ClusterHead::PutProgramResults>&& response) -> Result {
                if (response.hasError() && response.getError().size() > 0) {
                  return absl::FailedPreconditionError(absl::StrCat(
                      "the cluster head refused the program: ", response.getError().cStr()));
                }
                std::vector<std::string> missing;
                for (auto key : response.getMissing()) missing.push_back(key);
                return missing;
              },
              [](kj::Exception&& e) -> Result { return Lost("cannot ship the program", e); });
    });
  };
  auto missing = put();
  if (!missing.ok() || missing->empty()) return missing.status();
  for (const std::string& key : *missing) {
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      return absl::InternalError(absl::StrCat("the cluster head asked for a file not in ",
                                              image.key, ": ", key.substr(0, 200)));
    }
    const ProgramFile& file = *it->second;
    if (file.file == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("no bytes for ", file.name));
    }
    absl::Status status = s->loop->executor().executeSync([&]() -> kj::Promise<absl::Status> {
      kj::Timer& timer = s->io->provider->getTimer();
      auto request = s->head.uploadProgramFileRequest();
      request.setKey(file.key);
      request.setSize(file.size);
      return Answered(timer, request.send())
          .then([&](capnp::Response<ClusterHead::UploadProgramFileResults>&& begun)
                    -> kj::Promise<absl::Status> {
            if (begun.hasError() && begun.getError().size() > 0) {
              return absl::FailedPreconditionError(absl::StrCat(
                  "the cluster head refused ", file.name, ": ", begun.getError().cStr()));
            }
            ProgramFileUpload::Client upload = begun.getUpload();
            return SendChunks(timer, upload, file, 0)
                .then([&timer, upload,
                       &file](absl::Status sent) mutable -> kj::Promise<absl::Status> {
                  if (!sent.ok()) return sent;  // the upload's release voids it at the head
                  return Answered(timer, upload.commitRequest().send())
                      .then([&file](capnp::Response<ProgramFileUpload::CommitResults>&& done) {
                        if (done.hasError() && done.getError().size() > 0) {
                          return absl::FailedPreconditionError(
                              absl::StrCat("the cluster head refused ", file.name, ": ",
                                           done.getError().cStr()));
                        }
                        return absl::OkStatus();
                      });
                });
          })
          .catch_([&file](kj::Exception&& e) -> absl::Status {
            return Lost(absl::StrCat("cannot upload ", file.name).c_str(), e);
          });
    });
    if (!status.ok()) return status;
  }
  missing = put();
  if (!missing.ok()) return missing.status();
  if (!missing->empty()) {
    return absl::UnavailableError(absl::StrCat("the cluster head still lacks ", missing->size(),
                                               " files of ", image.key, " after their upload"));
  }
  return absl::OkStatus();
}

absl::StatusOr<LocalProgram> HeadClient::FetchProgram(const std::string& program_key,
                                                      const std::string& cache_dir) {
  if (!IsProgramKey(program_key)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a program key: \"", program_key.substr(0, 200), "\""));
  }
  auto cache = ProgramCache::Open(cache_dir);
  if (!cache.ok()) return cache.status();
  if (std::optional<LocalProgram> cached = cache->Find(program_key)) return *cached;
  State* s = state_.get();
  using Manifest = absl::StatusOr<ProgramManifest>;
  Manifest manifest = s->loop->executor().executeSync([&]() -> kj::Promise<Manifest> {
    auto request = s->head.programManifestRequest();
    request.setProgramKey(program_key);
    return Answered(s->io->provider->getTimer(), request.send())
        .then(
            [&](capnp::Response<ClusterHead::ProgramManifestResults>&& response) -> Manifest {
              if (!response.getFound()) {
                return absl::NotFoundError(
                    absl::StrCat("the cluster head has no program ", program_key));
              }
              return ReadProgramManifest(response.getManifest());
            },
            [](kj::Exception&& e) -> Manifest { return Lost("cannot fetch the program", e); });
  });
  if (!manifest.ok()) return manifest.status();
  if (absl::Status checked = CheckManifest(program_key, manifest->executable, manifest->libraries);
      !checked.ok()) {
    return absl::DataLossError(
        absl::StrCat("the cluster head's manifest of the program: ", checked.message()));
  }
  for (size_t i = 0; i <= manifest->libraries.size(); ++i) {
    const ProgramFile& file = i == 0 ? manifest->executable : manifest->libraries[i - 1];
    if (cache->HasFile(file.key)) continue;
    auto writer = cache->NewFile(file.key, file.size);
    if (!writer.ok()) return writer.status();
    absl::Status status = s->loop->executor().executeSync([&]() -> kj::Promise<absl::Status> {
      kj::Timer& timer = s->io->provider->getTimer();
      auto lanes = kj::heapArrayBuilder<kj::Promise<absl::Status>>(kReadsInFlight);
      for (int lane = 0; lane < kReadsInFlight; ++lane) {
        lanes.add(ReadLane(timer, s->head, writer->get(), file, lane * kChunkBytes));
      }
      return kj::joinPromises(lanes.finish())
          .then(
              [](kj::Array<absl::Status> done) {
                for (absl::Status& status : done) {
                  if (!status.ok()) return status;
                }
                return absl::OkStatus();
              },
              [&file](kj::Exception&& e) {
                return Lost(absl::StrCat("cannot fetch ", file.name).c_str(), e);
              });
    });
    if (status.ok()) status = (*writer)->Commit();
    if (!status.ok()) return status;
  }
  return cache->Install(program_key, *manifest);
}

}  // namespace ray::cluster
