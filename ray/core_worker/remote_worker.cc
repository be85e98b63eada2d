#include "ray/core_worker/remote_worker.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "ray/cluster/token_socket.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/core_worker/worker.h"
#include "ray/node/zygote.h"
#include "ray/object_manager/object_puller.h"
#include "ray/store/client.h"

namespace ray::core {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

}  // namespace

void RunIfRemoteWorker() {
  const std::string scheduler = Env(kSchedulerAddressEnv);
  if (scheduler.empty()) return;
  const std::string node_id = Env(kWorkerNodeIdEnv);
  const std::string store = Env(kWorkerStoreEnv);
  const std::string token = Env("RAY_AUTH_TOKEN");
  SetProcessTitle("ray::worker", /*command_line=*/false);
  auto fd = cluster::ConnectWithToken(scheduler, token);
  if (!fd.ok()) {
    fprintf(stderr, "ray worker %d: %s\n", getpid(), std::string(fd.status().message()).c_str());
    _exit(1);
  }
  if (int ready = std::atoi(Env(kWorkerReadyFdEnv).c_str()); ready > STDERR_FILENO) {
    const char byte = 1;
    (void)!write(ready, &byte, 1);  // connected: the node tells the driver they started
    close(ready);
  }
  SetThisNodeId(node_id);
  // Not run: the program's exit handlers and static destructors (it never left its Init).
  _exit(RunClusterWorker(*fd, store, token, node_id));
}

int RunClusterWorker(int scheduler_fd, const std::string& store_socket, const std::string& token,
                     const std::string& node_id) {
  // Objects other nodes hold are copied into this node's store before they are read.
  auto copies_store = store::StoreClient::Connect(store_socket, {.name = "worker copies"});
  if (!copies_store.ok()) {
    fprintf(stderr, "ray worker %d: %s\n", getpid(),
            std::string(copies_store.status().message()).c_str());
    close(scheduler_fd);
    return 1;
  }
  object_manager::ObjectPuller puller(**copies_store, {.token = token});
  RemoteWorkerOptions remote{
      .node_id = node_id,
      .copy = [&puller](const ObjectID& id, const std::string& source, bool for_get) {
        return puller.Pull(id, source,
                           for_get ? object_manager::PullPriority::kGet
                                   : object_manager::PullPriority::kTaskArgument);
      }};
  return RunWorker(scheduler_fd, store_socket, std::move(remote));
}

}  // namespace ray::core
