// A cluster with TLS (`ray start --tls-*`, RAY_USE_TLS and RAY_TLS_* for the driver): every
// connection (the head's, the nodes' services, the object servers, remote workers' streams to
// the driver) is TLS with certificates from the cluster's CA, and everything works as without.
// Clients without TLS, or with a certificate from another CA, are refused with a clear error
// on both ends, and the head keeps serving. The program's actor host joins over TLS too.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "ray/api.h"
#include "ray/cluster/head_client.h"
#include "ray/cluster/local_files.h"
#include "ray/core_worker/session.h"
#include "tests/cluster/byte_pattern.h"
#include "tests/cluster/ray_cli.h"

namespace ray::testing {
namespace {

std::string WhereAmI() { return ray::GetRuntimeContext().GetNodeId(); }

class TlsTest : public RayCliTest {
 protected:
  void SetUp() override {
    RayCliTest::SetUp();
    certs_ = tmp_ + "/certs";
    other_ = tmp_ + "/other";
    for (const std::string& dir : {certs_, other_}) {
      RunResult made = RunProgram({"/bin/bash", "scripts/make_cluster_certs.sh", dir});
      ASSERT_EQ(made.exit_code, 0) << made.output;
    }
    std::vector<std::string> tls = {"--tls-cert=" + certs_ + "/node.crt",
                                    "--tls-key=" + certs_ + "/node.key",
                                    "--tls-ca=" + certs_ + "/ca.crt"};
    head_ = AddNode({.num_cpus = 1, .resources = R"({"head_box": 1})", .flags = tls});
    node_ = AddNode({.num_cpus = 1,
                     .resources = R"({"node_box": 1})",
                     .object_store_memory = "200M",
                     .flags = tls});
  }
  void TearDown() override {
    ray::Shutdown();
    for (const char* name : {"RAY_USE_TLS", "RAY_TLS_SERVER_CERT", "RAY_TLS_SERVER_KEY",
                             "RAY_TLS_CA_CERT", "RAY_TLS_SERVER_NAME"}) {
      unsetenv(name);
    }
    RayCliTest::TearDown();
  }
  // This process (the driver, and `ray status` run from here) uses the files in `dir`.
  void UseTls(const std::string& dir) {
    setenv("RAY_USE_TLS", "1", 1);
    setenv("RAY_TLS_SERVER_CERT", (dir + "/node.crt").c_str(), 1);
    setenv("RAY_TLS_SERVER_KEY", (dir + "/node.key").c_str(), 1);
    setenv("RAY_TLS_CA_CERT", (dir + "/ca.crt").c_str(), 1);
  }
  // Why ray::Init with this environment fails ("" if it does not).
  std::string InitError() {
    try {
      ray::Init({.num_workers = 1, .object_store_memory = 32 << 20, .address = address_});
    } catch (const ray::RayError& e) {
      return e.what();
    }
    ray::Shutdown();
    return "";
  }

  std::string certs_, other_;
  StartedNode head_, node_;
};

TEST_F(TlsTest, TasksAndObjectsCrossNodesOverTls) {
  UseTls(certs_);
  ray::Init({.num_workers = 1,
             .object_store_memory = 200 << 20,
             .address = address_,
             .resources = {{"driver_box", 1}}});
  const std::string here = ray::GetRuntimeContext().GetNodeId();
  // A task on another node: its worker's stream to this driver is TLS.
  EXPECT_EQ(ray::Get(ray::Remote(WhereAmI).Options({.resources = {{"node_box", 1}}})()), node_.id);
  EXPECT_EQ(ray::Get(ray::Remote(WhereAmI).Options({.resources = {{"head_box", 1}}})()), head_.id);
  // Objects both ways through the object servers: made there and read here, put here and
  // read there.
  constexpr int64_t kBytes = 20 << 20;
  auto big = ray::Remote(MakeBig).Options({.resources = {{"node_box", 1}}})(kBytes, 5);
  EXPECT_EQ(ray::Get(big), Pattern(kBytes, 5));
  auto put = ray::Put(Pattern(kBytes, 9));
  EXPECT_TRUE(
      ray::Get(ray::Remote(IsPattern).Options({.resources = {{"node_box", 1}}})(put, kBytes, 9)));
  // A worker of this node reads what the other node made.
  EXPECT_TRUE(
      ray::Get(ray::Remote(IsPattern).Options({.resources = {{"driver_box", 1}}})(big, kBytes, 5)));
  EXPECT_EQ(ray::Get(ray::Remote(WhereAmI).Options({.resources = {{"driver_box", 1}}})()), here);
  RunResult status = RunRay({"status"});
  EXPECT_NE(status.output.find("3 alive, 0 dead"), std::string::npos) << status.output;
}

TEST_F(TlsTest, TheProgramsActorHostJoinsOverTls) {
  UseTls(certs_);
  ray::Init({.num_workers = 1, .object_store_memory = 32 << 20, .address = address_});
  // The head's node starts it with the node's TLS files; it joins and registers over TLS.
  auto host = core::ActorHostOfCluster();
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_TRUE(host->address.starts_with("127.0.0.1:")) << host->address;
  RunResult status = RunRay({"status"});
  EXPECT_NE(status.output.find("4 alive, 0 dead"), std::string::npos) << status.output;
}

TEST_F(TlsTest, ClientsWithoutTlsOrFromAnotherCaAreRefused) {
  // No TLS: the head says it needs it.
  std::string error = InitError();
  EXPECT_NE(error.find("requires TLS: set RAY_USE_TLS=1"), std::string::npos) << error;
  RunResult status = RunRay({"status"});
  EXPECT_NE(status.exit_code, 0);
  EXPECT_NE(status.output.find("requires TLS"), std::string::npos) << status.output;
  // A certificate from another CA: the handshake fails.
  UseTls(other_);
  error = InitError();
  EXPECT_NE(error.find("the TLS handshake with the cluster head at " + address_ + " failed"),
            std::string::npos)
      << error;
  // The right CA, but a server name the head's certificate does not have.
  UseTls(certs_);
  setenv("RAY_TLS_SERVER_NAME", "not-this-node.example", 1);
  error = InitError();
  EXPECT_NE(error.find("the TLS handshake with the cluster head"), std::string::npos) << error;
  unsetenv("RAY_TLS_SERVER_NAME");
  // On every port of the cluster, a token in the clear is answered "TLS required" and closed;
  // garbage is closed.
  auto token = cluster::FindToken(address_);
  ASSERT_TRUE(token.ok());
  auto credentials = cluster::CredentialsFromEnv(*token);
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  auto head = cluster::HeadClient::Connect(address_, *credentials);
  ASSERT_TRUE(head.ok()) << head.status();
  auto nodes = (*head)->Nodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  std::vector<std::string> ports = {address_};
  for (const cluster::NodeEntry& node : *nodes) {
    ports.push_back(node.service_address);
    ports.push_back(node.object_address);
  }
  ASSERT_EQ(ports.size(), 5u);
  for (const std::string& port : ports) {
    EXPECT_TRUE(ClosedAfter(port, Preamble(*token), "T")) << port;
    EXPECT_TRUE(ClosedAfter(port, std::string(64, '\x16'))) << port;
  }
  std::string log = NodeLog(head_);
  EXPECT_NE(log.find("a client without TLS (this cluster uses TLS)"), std::string::npos) << log;
  EXPECT_NE(log.find("the TLS handshake failed"), std::string::npos) << log;
  EXPECT_EQ(log.find(*token), std::string::npos) << "the head logged its token";
  // The head still serves a client with the cluster's certificate.
  EXPECT_EQ(InitError(), "");
}

TEST_F(TlsTest, IncompleteTlsSettingsFailClearly) {
  setenv("RAY_USE_TLS", "1", 1);
  std::string error = InitError();
  EXPECT_NE(error.find("RAY_USE_TLS=1 needs RAY_TLS_SERVER_CERT"), std::string::npos) << error;
  UseTls(certs_);
  setenv("RAY_TLS_SERVER_KEY", (tmp_ + "/no-such-key.pem").c_str(), 1);
  error = InitError();
  EXPECT_NE(error.find("cannot read the TLS key"), std::string::npos) << error;
  RunResult start = RunRay({"start", "--address=" + address_, "--tls-cert=x.pem"});
  EXPECT_EQ(start.exit_code, 2);
  EXPECT_NE(start.output.find("--tls-cert, --tls-key and --tls-ca go together"), std::string::npos)
      << start.output;
}

}  // namespace
}  // namespace ray::testing
