#include "ray/rpc/zygote_messages.h"

#include <gtest/gtest.h>

namespace ray::core {
namespace {

TEST(ZygoteMessagesTest, RoundTripWithinOnePacket) {
  for (rpc::ProcessKind kind : {rpc::ProcessKind::STORE, rpc::ProcessKind::WORKER}) {
    std::string packet = EncodeSpawnRequest(kind);
    EXPECT_LE(packet.size(), kMaxZygotePacket);
    EXPECT_EQ(DecodeSpawnRequest(packet).value(), kind);
  }
  for (pid_t pid : {1, 4321, -1}) {
    std::string packet = EncodeSpawnReply(pid);
    EXPECT_LE(packet.size(), kMaxZygotePacket);
    EXPECT_EQ(DecodeSpawnReply(packet).value(), pid);
  }
}

TEST(ZygoteMessagesTest, GarbageIsAnErrorNotACrash) {
  EXPECT_EQ(DecodeSpawnRequest("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSpawnRequest("W").status().code(), absl::StatusCode::kInvalidArgument);
  std::string garbage(16, '\xff');
  EXPECT_EQ(DecodeSpawnReply(garbage).status().code(), absl::StatusCode::kInvalidArgument);
  std::string truncated = EncodeSpawnReply(7).substr(0, 8);
  EXPECT_FALSE(DecodeSpawnReply(truncated).ok());
}

}  // namespace
}  // namespace ray::core
