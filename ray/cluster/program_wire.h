// A program's manifest as cluster.capnp's ProgramManifest, both ways.
#pragma once

#include "ray/cluster/program_image.h"
#include "ray/rpc/cluster.capnp.h"

namespace ray::cluster {

void FillProgramManifest(const ProgramFile& executable, const std::vector<ProgramFile>& libraries,
                         rpc::cluster::ProgramManifest::Builder manifest);
// What the message says, unchecked (CheckManifest checks it; at most kMaxProgramLibraries + 1
// libraries are read, so that a longer list is still refused). No paths, no bytes.
ProgramManifest ReadProgramManifest(rpc::cluster::ProgramManifest::Reader manifest);

}  // namespace ray::cluster
