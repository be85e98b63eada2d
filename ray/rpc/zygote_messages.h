// The codec of zygote.capnp's messages: each one packet of bytes.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "ray/rpc/zygote.capnp.h"

namespace ray::core {

// The longest packet either side sends (a request or a reply, with its framing).
inline constexpr size_t kMaxZygotePacket = 256;

std::string EncodeSpawnRequest(rpc::ProcessKind kind);
// InvalidArgument for bytes that are not a SpawnRequest.
absl::StatusOr<rpc::ProcessKind> DecodeSpawnRequest(std::string_view packet);

std::string EncodeSpawnReply(pid_t pid);
// InvalidArgument for bytes that are not a SpawnReply.
absl::StatusOr<pid_t> DecodeSpawnReply(std::string_view packet);

}  // namespace ray::core
