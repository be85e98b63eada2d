#include "ray/rpc/zygote_messages.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace ray::core {
namespace {

std::string Flat(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  kj::ArrayPtr<const char> bytes = words.asChars();
  return std::string(bytes.begin(), bytes.size());
}

// Reads `packet` as a message with root T and returns read(root); InvalidArgument if it is not
// one (malformed framing, or a root that does not decode).
template <typename T, typename Read>
auto ReadPacket(std::string_view packet, Read read)
    -> absl::StatusOr<decltype(read(std::declval<typename T::Reader>()))> {
  if (packet.empty() || packet.size() % sizeof(capnp::word) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a zygote message of ", packet.size(), " bytes is no whole message"));
  }
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(packet.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), packet.data(), packet.size());
  try {
    capnp::FlatArrayMessageReader reader(words);
    return read(reader.getRoot<T>());
  } catch (const kj::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed zygote message: ", e.getDescription().cStr()));
  }
}

}  // namespace

std::string EncodeSpawnRequest(rpc::ProcessKind kind) {
  capnp::MallocMessageBuilder message;
  message.initRoot<rpc::SpawnRequest>().setKind(kind);
  return Flat(message);
}

absl::StatusOr<rpc::ProcessKind> DecodeSpawnRequest(std::string_view packet) {
  return ReadPacket<rpc::SpawnRequest>(
      packet, [](rpc::SpawnRequest::Reader request) { return request.getKind(); });
}

std::string EncodeSpawnReply(pid_t pid) {
  capnp::MallocMessageBuilder message;
  message.initRoot<rpc::SpawnReply>().setPid(pid);
  return Flat(message);
}

absl::StatusOr<pid_t> DecodeSpawnReply(std::string_view packet) {
  return ReadPacket<rpc::SpawnReply>(
      packet, [](rpc::SpawnReply::Reader reply) { return static_cast<pid_t>(reply.getPid()); });
}

}  // namespace ray::core
