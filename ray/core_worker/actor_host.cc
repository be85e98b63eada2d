#include "ray/core_worker/actor_host.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "ray/core_worker/cluster_link.h"
#include "ray/core_worker/remote_worker.h"
#include "ray/core_worker/session.h"
#include "ray/node/zygote.h"

namespace ray::core {

void RunIfActorHost(const SessionOptions& given) {
  const char* head = std::getenv(kActorHostHeadEnv);
  if (head == nullptr || *head == '\0') return;
  // The session forks its zygote before the host is ready: the node must see the pipe's end
  // when the host closes it (or dies), not when the zygote does.
  TakeReadyPipe();
  SessionOptions options = given;
  options.address = head;
  const char* key = std::getenv(kActorHostKeyEnv);
  const std::string host_key = key != nullptr ? key : "";
  if (host_key.empty()) {
    fprintf(stderr, "ray actor host %d: cannot serve: %s is not set\n", getpid(), kActorHostKeyEnv);
    TellNode(absl::StrCat(kActorHostKeyEnv, " is not set"));
    _exit(1);
  }
  // Not seen again by the session this starts (StartSession enters here first), nor by its
  // workers.
  unsetenv(kActorHostHeadEnv);
  unsetenv(kActorHostKeyEnv);
  SetProcessTitle("ray::actor_host", /*command_line=*/false);
  options.local_mode = false;
  options.actor_host = true;
  options.record_task_graph = false;  // it serves for as long as the cluster lives
  absl::Status status = StartSession(options, AtExit::kNothing);
  DriverRuntime* node = status.ok() ? SessionNode() : nullptr;
  ClusterLink* link = node != nullptr ? node->cluster() : nullptr;
  if (status.ok() && link == nullptr) status = absl::InternalError("the session joined no cluster");
  if (status.ok()) status = link->RegisterAsActorHost(host_key);
  if (!status.ok()) {
    std::string why(status.message());
    fprintf(stderr, "ray actor host %d: cannot serve: %s\n", getpid(), why.c_str());
    TellNode(why);  // the head answers its askers with it
    _exit(1);
  }
  TellNode(kWorkerReached);
  fprintf(stderr, "ray actor host %d: the actor host of %s for the cluster at %s\n", getpid(),
          host_key.c_str(), options.address.c_str());
  std::string why = link->AwaitHeadLost();
  fprintf(stderr, "ray actor host %d: the cluster head at %s is gone (%s); exiting\n", getpid(),
          options.address.c_str(), why.c_str());
  ShutdownSession();
  _exit(0);
}

}  // namespace ray::core
