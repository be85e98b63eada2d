// The head's TCP protocol against a real head (`ray start --head`): the token comes first, and
// a connection without it, with a wrong one, or with garbage is closed while the head keeps
// serving; versions and node IDs are checked at join.
#include <gtest/gtest.h>

#include <fstream>

#include "ray/cluster/head_client.h"
#include "ray/cluster/local_files.h"
#include "tests/cluster/ray_cli.h"

namespace ray::testing {
namespace {

class HeadProtocolTest : public RayCliTest {
 protected:
  void SetUp() override {
    RayCliTest::SetUp();
    setenv("RAY_HANDSHAKE_TIMEOUT_MS", "300", 1);
    head_ = Start({"--head", "--port=0", "--num-cpus=2"});
    auto token = cluster::FindToken(address_);
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = *token;
  }

  bool ClosedAfter(const std::string& bytes, const std::string& answer = "") {
    return testing::ClosedAfter(address_, bytes, answer);
  }

  std::string Log() { return NodeLog(head_); }

  cluster::NodeEntry Node(const std::string& id) {
    cluster::NodeEntry node;
    node.node_id = id;
    node.address = "127.0.0.1";
    node.num_cpus = 1;
    return node;
  }

  StartedNode head_;
  std::string token_;
};

TEST_F(HeadProtocolTest, ConnectionsWithoutTheTokenAreClosedAndTheHeadKeepsServing) {
  std::string wrong = token_;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  EXPECT_TRUE(ClosedAfter(Preamble(wrong)));
  EXPECT_TRUE(ClosedAfter(Preamble(token_.substr(1))));            // too short
  EXPECT_TRUE(ClosedAfter(std::string("\0\0\0\0\x05\0\0\0", 8)));  // a Cap'n Proto frame, no token
  EXPECT_TRUE(ClosedAfter("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(ClosedAfter("RAYT\xff\xff\xff\xff"));  // a huge length
  EXPECT_TRUE(ClosedAfter(""));                      // nothing: closed at the handshake timeout
  // The right token, then garbage where Cap'n Proto RPC is expected: that connection ends.
  EXPECT_TRUE(ClosedAfter(
      Preamble(token_) + std::string("\xff\xff\xff\x7f", 4) + std::string(64, '\x5a'), "K"));

  std::string log = Log();
  EXPECT_NE(log.find("wrong cluster token"), std::string::npos) << log;
  EXPECT_NE(log.find("no cluster token (not a ray cluster client, or garbage)"), std::string::npos);
  EXPECT_NE(log.find("malformed cluster token"), std::string::npos);
  EXPECT_NE(log.find("no cluster token in time"), std::string::npos);
  EXPECT_EQ(log.find(token_), std::string::npos) << "the head logged its token";

  // The head still serves a client with the token.
  auto client = cluster::HeadClient::Connect(address_, {.token = token_});
  ASSERT_TRUE(client.ok()) << client.status();
  auto nodes = (*client)->Nodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].node_id, head_.id);
  EXPECT_TRUE((*nodes)[0].is_head);

  auto refused = cluster::HeadClient::Connect(address_, {.token = wrong});
  EXPECT_TRUE(absl::IsPermissionDenied(refused.status())) << refused.status();
}

TEST_F(HeadProtocolTest, VersionMismatchIsRefusedNamingBothVersions) {
  auto client = cluster::HeadClient::Connect(address_, {.token = token_});
  ASSERT_TRUE(client.ok()) << client.status();
  absl::Status protocol = (*client)->Join(Node("0001"), {.protocol_version = 99});
  EXPECT_TRUE(absl::IsFailedPrecondition(protocol)) << protocol;
  EXPECT_NE(protocol.message().find(absl::StrCat("protocol ", cluster::kProtocolVersion, " of ",
                                                 cluster::kLibraryVersion)),
            std::string::npos)
      << protocol;
  EXPECT_NE(protocol.message().find("protocol 99"), std::string::npos) << protocol;
  absl::Status library = (*client)->Join(Node("0002"), {.library_version = "libray 9.9"});
  EXPECT_NE(library.message().find("libray 9.9"), std::string::npos) << library;
  EXPECT_NE(library.message().find(cluster::kLibraryVersion), std::string::npos) << library;
  EXPECT_EQ((*client)->Nodes()->size(), 1u);  // neither joined
}

TEST_F(HeadProtocolTest, ANodeIdJoinsOnceAndItsDisconnectMakesItDead) {
  auto first = cluster::HeadClient::Connect(address_, {.token = token_});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE((*first)->Join(Node("00aa")).ok());
  auto second = cluster::HeadClient::Connect(address_, {.token = token_});
  ASSERT_TRUE(second.ok()) << second.status();
  absl::Status twice = (*second)->Join(Node("00aa"));
  EXPECT_TRUE(absl::IsFailedPrecondition(twice)) << twice;
  EXPECT_NE(twice.message().find("node 00aa is already registered"), std::string::npos) << twice;
  *first = nullptr;  // closes its connection
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  bool dead = false;
  while (!dead && absl::Now() < deadline) {
    auto nodes = (*second)->Nodes();
    ASSERT_TRUE(nodes.ok()) << nodes.status();
    dead = nodes->size() == 2 && !(*nodes)[1].alive;
  }
  EXPECT_TRUE(dead);
}

}  // namespace
}  // namespace ray::testing
