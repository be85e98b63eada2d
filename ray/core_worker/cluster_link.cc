#include "ray/core_worker/cluster_link.h"

#include "absl/strings/str_cat.h"
#include "ray/cluster/local_files.h"

namespace ray::core {

absl::StatusOr<std::unique_ptr<cluster::HeadClient>> JoinCluster(
    const std::string& address, cluster::NodeEntry node, std::function<uint64_t()> store_used) {
  auto resolved = cluster::ResolveAddress(address);
  auto token = resolved.ok() ? cluster::FindToken(*resolved) : resolved.status();
  auto client = token.ok() ? cluster::HeadClient::Connect(*resolved, *token) : token.status();
  absl::Status status = client.status();
  if (client.ok()) {
    node.address = (*client)->local_ip();
    status = (*client)->Join(node, {.heartbeat_period = cluster::HealthFromEnv().period,
                                    .store_used = std::move(store_used)});
  }
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("cannot join the cluster at ", address, ": ",
                                                    status.message()));
  }
  return client;
}

}  // namespace ray::core
