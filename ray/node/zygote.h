// The node's process factory. Init forks it first, before the runtime starts any thread; it
// then forks the store and every worker on request, so each starts from a clean one-threaded
// copy of the program (function addresses and globals as at Init) in about a millisecond.
// The zygote ends with the driver (the end of its socket) after stopping what it forked, which
// also dies with it (PR_SET_PDEATHSIG). Workers started this way run the same binary: no
// registration, no exec.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ray/common/pidfd.h"
#include "ray/rpc/zygote.capnp.h"

namespace ray::core {

// Names this process `title` (ray::worker, ray::store, ray::zygote, as Ray's ray::IDLE) as its
// thread name (ps -o comm, top) and, if `command_line`, as its command line too (ps, and what
// `pkill -f` matches: the processes of a node are forks of the driver and would otherwise match
// the driver's command line). The command line is overwritten in place: only for a process
// whose code never reads the driver's argv memory again.
void SetProcessTitle(const char* title, bool command_line);

// A process the zygote forked: its pid, and a pidfd that refers to it (opened by the zygote
// before it could reap the child, so never to another process that took the pid over).
struct SpawnedProcess {
  pid_t pid = 0;
  Pidfd pidfd;
};

class Zygote {
 public:
  // What a forked child runs: given the descriptor sent with the request, returns an exit code.
  using ChildMain = std::function<int(int fd)>;

  // Forks the zygote. `store_main` and `worker_main` run in the children it forks. When the
  // driver goes away (this object destroyed, or the driver process dead), the zygote stops its
  // children and removes `session_dir` (if not empty).
  static absl::StatusOr<std::unique_ptr<Zygote>> Start(ChildMain store_main, ChildMain worker_main,
                                                       std::string session_dir = "");
  // Stops every process the zygote started (SIGTERM, then SIGKILL after a grace period) and
  // waits for the zygote to exit.
  ~Zygote();

  // Forks a child that runs store_main / worker_main with `fd` (closed here). The zygote reaps
  // its children as they end.
  absl::StatusOr<pid_t> SpawnStore(int fd);
  absl::StatusOr<SpawnedProcess> SpawnWorker(int fd) { return Spawn(rpc::ProcessKind::WORKER, fd); }

  pid_t pid() const { return pid_; }

 private:
  Zygote(pid_t pid, int socket) : pid_(pid), socket_(socket) {}
  absl::StatusOr<SpawnedProcess> Spawn(rpc::ProcessKind kind, int fd);

  pid_t pid_;
  int socket_;
};

}  // namespace ray::core
