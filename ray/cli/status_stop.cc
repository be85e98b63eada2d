#include "ray/cli/status_stop.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ray/cli/node_folder.h"
#include "ray/cluster/head_client.h"
#include "ray/cluster/local_files.h"
#include "ray/common/pidfd.h"

namespace ray::cli {
namespace {

std::string Bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = bytes;
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat(unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
}

std::string Resources(const cluster::NodeEntry& node) {
  return absl::StrJoin(node.resources, ", ", [](std::string* out, const auto& resource) {
    absl::StrAppend(out, resource.first, ": ", resource.second);
  });
}

}  // namespace

int Status(const std::string& given) {
  std::string address = given;
  if (address.empty()) {
    const char* env = std::getenv("RAY_ADDRESS");
    address = env != nullptr && *env != '\0' ? env : "auto";
  }
  auto resolved = cluster::ResolveAddress(address);
  auto token = resolved.ok() ? cluster::FindToken(*resolved) : resolved.status();
  auto credentials = token.ok() ? cluster::CredentialsFromEnv(*token) : token.status();
  auto head = credentials.ok() ? cluster::HeadClient::Connect(*resolved, *credentials)
                               : credentials.status();
  auto nodes = head.ok() ? (*head)->Nodes() : head.status();
  if (!nodes.ok()) {
    std::cerr << "ray status: " << nodes.status().message() << "\n";
    return 1;
  }
  int alive = 0;
  double cpus = 0, cpus_in_use = 0;
  uint64_t used = 0, total = 0;
  for (const cluster::NodeEntry& node : *nodes) {
    if (!node.alive) continue;
    ++alive;
    cpus += node.num_cpus;
    cpus_in_use += node.cpus_in_use;
    used += node.store_used_bytes;
    total += node.object_store_bytes;
  }
  std::cout << "Cluster " << *resolved << ": " << alive << " alive, " << nodes->size() - alive
            << " dead\n";
  for (const cluster::NodeEntry& node : *nodes) {
    std::cout << absl::StrFormat("  %s %s %-5s %s CPUs: %g (%g in use)  store: %s / %s",
                                 node.node_id, node.address, node.alive ? "alive" : "dead",
                                 node.is_head ? "head" : "node", node.num_cpus, node.cpus_in_use,
                                 Bytes(node.store_used_bytes), Bytes(node.object_store_bytes));
    if (!node.resources.empty()) std::cout << "  resources: " << Resources(node);
    if (!node.alive) std::cout << "  (" << node.death_reason << ")";
    std::cout << "\n";
  }
  std::cout << absl::StrFormat("Total (alive): %g CPUs (%g in use), store %s used of %s\n", cpus,
                               cpus_in_use, Bytes(used), Bytes(total));
  return 0;
}

int Stop(bool force, int grace_seconds) {
  auto root = cluster::UserRoot();
  if (!root.ok()) {
    std::cerr << "ray stop: " << root.status().message() << "\n";
    return 1;
  }
  std::vector<NodeFolder> folders = ListNodeFolders(*root);
  std::vector<core::Pidfd> stopping;
  size_t ended = 0;  // before this call: not stopped by it, only their folders removed
  for (const NodeFolder& folder : folders) {
    core::Pidfd node(folder.pid > 0 ? static_cast<int>(syscall(SYS_pidfd_open, folder.pid, 0))
                                    : -1);
    if (!node.valid() || node.Ended()) {
      ++ended;
      continue;
    }
    node.Signal(force ? SIGKILL : SIGTERM);
    stopping.push_back(std::move(node));
  }
  for (const core::Pidfd& node : stopping) {
    pollfd ended{node.get(), POLLIN, 0};
    if (poll(&ended, 1, grace_seconds * 1000) != 1) {
      node.Kill();
      ended.revents = 0;
      poll(&ended, 1, -1);
    }
  }
  std::error_code ignored;
  for (const NodeFolder& folder : folders) std::filesystem::remove_all(folder.path, ignored);
  for (const auto& entry : std::filesystem::directory_iterator(*root, ignored)) {
    std::string name = entry.path().filename();
    if (absl::StartsWith(name, "token-") || name == "latest_cluster") {
      std::filesystem::remove(entry.path(), ignored);
    }
  }
  std::cout << "Stopped " << stopping.size() << " node" << (stopping.size() == 1 ? "" : "s")
            << ".\n";
  if (ended > 0) {
    std::cout << ended
              << (ended == 1 ? " node had already ended; its folder is removed.\n"
                             : " nodes had already ended; their folders are removed.\n");
  }
  return 0;
}

}  // namespace ray::cli
