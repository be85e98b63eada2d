#include "ray/core_worker/remote_worker.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/numbers.h"
#include "ray/cluster/cluster_socket.h"
#include "ray/common/fork_closed_fd.h"
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

// The ready pipe once taken from the environment. This process's alone: the node sees its end
// when this process closes it or dies.
ForkClosedFd ready_pipe;

}  // namespace

void TakeReadyPipe() {
  int fd = -1;  // the environment names it once: unset once taken
  if (!absl::SimpleAtoi(Env(kWorkerReadyFdEnv), &fd) || fd < 0) return;
  unsetenv(kWorkerReadyFdEnv);
  fcntl(fd, F_SETFD, FD_CLOEXEC);  // the node gave it without: it had to cross one exec
  if (!ready_pipe.TryHold(fd)) close(fd);
}

void TellNode(std::string_view what) {
  TakeReadyPipe();
  int fd = ready_pipe.Take();
  if (fd < 0) return;
  (void)!write(fd, what.data(), what.size());
  close(fd);
}

void RunIfRemoteWorker() {
  const std::string scheduler = Env(kSchedulerAddressEnv);
  if (scheduler.empty()) return;
  const std::string node_id = Env(kWorkerNodeIdEnv);
  const std::string store = Env(kWorkerStoreEnv);
  SetProcessTitle("ray::worker", /*command_line=*/false);
  auto credentials = cluster::CredentialsFromEnv(Env("RAY_AUTH_TOKEN"));
  auto fd = credentials.ok() ? cluster::ConnectClusterSocket(scheduler, *credentials)
                             : absl::StatusOr<int>(credentials.status());
  if (!fd.ok()) {
    std::string why(fd.status().message());
    fprintf(stderr, "ray worker %d: %s\n", getpid(), why.c_str());
    TellNode(why);
    _exit(1);
  }
  TellNode(kWorkerReached);
  SetThisNodeId(node_id);
  // Not run: the program's exit handlers and static destructors (it never left its Init).
  _exit(RunClusterWorker(*fd, store, *credentials, node_id));
}

int RunClusterWorker(int scheduler_fd, const std::string& store_socket,
                     const cluster::Credentials& credentials, const std::string& node_id) {
  // Objects other nodes hold are copied into this node's store before they are read.
  auto copies_store = store::StoreClient::Connect(store_socket, {.name = "worker copies"});
  if (!copies_store.ok()) {
    fprintf(stderr, "ray worker %d: %s\n", getpid(),
            std::string(copies_store.status().message()).c_str());
    close(scheduler_fd);
    return 1;
  }
  object_manager::ObjectPuller puller(**copies_store, {.credentials = credentials});
  RemoteWorkerOptions remote{
      .node_id = node_id,
      .copy = [&puller](std::span<const object_manager::ObjectSource> objects, bool for_get) {
        return puller.PullAll(objects, for_get ? object_manager::PullPriority::kGet
                                               : object_manager::PullPriority::kTaskArgument);
      }};
  return RunWorker(scheduler_fd, store_socket, std::move(remote));
}

}  // namespace ray::core
