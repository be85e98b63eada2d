#include "ray/cluster/program_wire.h"

namespace ray::cluster {
namespace {

void FillFile(const ProgramFile& file, rpc::cluster::ProgramFile::Builder out) {
  out.setKey(file.key);
  out.setName(file.name);
  out.setSize(file.size);
}

ProgramFile ReadFile(rpc::cluster::ProgramFile::Reader file) {
  ProgramFile out;
  out.key = file.getKey();
  out.name = file.getName();
  out.size = file.getSize();
  return out;
}

}  // namespace

void FillProgramManifest(const ProgramFile& executable, const std::vector<ProgramFile>& libraries,
                         rpc::cluster::ProgramManifest::Builder manifest) {
  FillFile(executable, manifest.initExecutable());
  auto list = manifest.initLibraries(libraries.size());
  for (size_t i = 0; i < libraries.size(); ++i) FillFile(libraries[i], list[i]);
}

ProgramManifest ReadProgramManifest(rpc::cluster::ProgramManifest::Reader manifest) {
  ProgramManifest out;
  out.executable = ReadFile(manifest.getExecutable());
  // One past the bound, so that CheckManifest refuses a list that is too long.
  size_t count = std::min<size_t>(manifest.getLibraries().size(), kMaxProgramLibraries + 1);
  for (size_t i = 0; i < count; ++i) out.libraries.push_back(ReadFile(manifest.getLibraries()[i]));
  return out;
}

}  // namespace ray::cluster
