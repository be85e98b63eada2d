// The `ray` command: start a node (the head, or one that joins it), show the cluster, stop
// this machine's nodes. docs/CLUSTER.md has the commands.
#include <iostream>

#include "absl/strings/numbers.h"
#include "ray/cli/args.h"
#include "ray/cli/start.h"
#include "ray/cli/status_stop.h"
#include "ray/cluster/version.h"
#include "ray/common/byte_count.h"

namespace {

constexpr char kUsage[] = R"(Usage:
  ray start --head [--port=6379] [--num-cpus=N] [--resources='{"name": 1}']
            [--object-store-memory=BYTES] [--node-ip-address=127.0.0.1] [--block]
            [--tls-cert=PEM --tls-key=PEM --tls-ca=PEM]
  ray start --address=HEAD:PORT [same options but --port]
  ray status [--address=HEAD:PORT]
  ray stop [--force]
  ray --version
--port=0 picks a free port. The token is RAY_AUTH_TOKEN, else the file the head writes.
TLS (every node, driver and worker): the --tls-* flags, or RAY_USE_TLS=1 with
RAY_TLS_SERVER_CERT, RAY_TLS_SERVER_KEY and RAY_TLS_CA_CERT.
)";

int Fail(const std::string& message) {
  std::cerr << "ray: " << message << "\n" << kUsage;
  return 2;
}

int StartCommand(const std::map<std::string, std::string>& flags) {
  ray::cli::StartOptions options;
  for (const auto& [name, value] : flags) {
    if (name == "head") {
      options.head = value == "true";
    } else if (name == "block") {
      options.block = value == "true";
    } else if (name == "address") {
      options.address = value;
    } else if (name == "node-ip-address") {
      options.node_ip_address = value;
    } else if (name == "port") {
      if (!absl::SimpleAtoi(value, &options.port) || options.port < 0 || options.port > 65535) {
        return Fail("bad --port " + value);
      }
    } else if (name == "num-cpus") {
      if (!absl::SimpleAtod(value, &options.num_cpus) || !(options.num_cpus >= 0)) {
        return Fail("bad --num-cpus " + value);
      }
    } else if (name == "resources") {
      auto resources = ray::cli::ParseResources(value);
      if (!resources.ok()) return Fail(std::string(resources.status().message()));
      options.resources = *resources;
    } else if (name == "tls-cert") {
      options.tls_cert = value;
    } else if (name == "tls-key") {
      options.tls_key = value;
    } else if (name == "tls-ca") {
      options.tls_ca = value;
    } else if (name == "object-store-memory") {
      if (!ray::ParseByteCount(value, &options.object_store_memory)) {
        return Fail("bad --object-store-memory " + value + " (bytes; K, M, G allowed)");
      }
    } else {
      return Fail("unknown flag --" + name + " for start");
    }
  }
  const bool any_tls =
      !options.tls_cert.empty() || !options.tls_key.empty() || !options.tls_ca.empty();
  if (any_tls && (options.tls_cert.empty() || options.tls_key.empty() || options.tls_ca.empty())) {
    return Fail("--tls-cert, --tls-key and --tls-ca go together");
  }
  return ray::cli::Start(options);
}

}  // namespace

int main(int argc, char** argv) {
  auto args =
      ray::cli::ParseArgs({argv + 1, argv + argc}, {"head", "block", "force", "help", "version"});
  if (!args.ok()) return Fail(std::string(args.status().message()));
  const auto& flags = args->flags;
  if (flags.count("version") && args->command.empty() && flags.size() == 1) {
    std::cout << ray::cluster::kLibraryVersion << "\n";  // "libray 0.1.0"
    return 0;
  }
  if (flags.count("help") || args->command.empty()) {
    std::cout << kUsage;
    return args->command.empty() && !flags.count("help") ? 2 : 0;
  }
  if (args->command == "start") return StartCommand(flags);
  if (args->command == "status") {
    for (const auto& [name, value] : flags) {
      if (name != "address") return Fail("unknown flag --" + name + " for status");
    }
    return ray::cli::Status(flags.count("address") ? flags.at("address") : "");
  }
  if (args->command == "stop") {
    for (const auto& [name, value] : flags) {
      if (name != "force") return Fail("unknown flag --" + name + " for stop");
    }
    return ray::cli::Stop(flags.count("force") > 0);
  }
  return Fail("unknown command " + args->command);
}
