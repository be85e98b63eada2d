// Starts the workers drivers ask of this node (node.capnp, startWorkers): the driver's own
// program, fetched from the head by its key and cached, run with the environment that makes it a
// worker of that driver's scheduler (ray/core_worker/remote_worker.h). Each worker says on a
// pipe of its own whether it reached the driver. A start is answered once one has; if none
// does (each says why it could not, or exits first, or all stay silent until the deadline), it
// is answered with the first one's reason (the driver then stops using this node). The workers die
// with the node (PR_SET_PDEATHSIG on the launcher's thread, which lives as long as the node); they
// start with no signal blocked or ignored, whatever the node's own mask. On
// the head's node it starts actor hosts the same way (WorkerStartRequest::host: one process, of
// job 0, which no StopJob stops), answered once the host says it registered with the head.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ray/cluster/node_service.h"
#include "ray/cluster/program_cache.h"

namespace ray::cli {

struct WorkerLauncherOptions {
  std::string node_id;
  std::string store_socket;
  cluster::Credentials credentials;  // its token goes to the workers (TLS: the environment's)
  std::string log_path;              // the workers' stdout and stderr
  // How long a started worker may take to reach its driver.
  absl::Duration ready_timeout = absl::Seconds(60);
  // The program with this key, fetched if not cached (may block; called on the launcher's thread).
  std::function<absl::StatusOr<cluster::LocalProgram>(const std::string& key)> fetch_program;
};

class WorkerLauncher {
 public:
  explicit WorkerLauncher(WorkerLauncherOptions options);
  ~WorkerLauncher();  // Stop()
  // Stops the workers still running (SIGTERM, SIGKILL to those alive 5 s later) and the thread;
  // later starts are answered "the node is stopping".
  void Stop();

  // Queues `request`; `done` gets "" once one of its workers has reached the driver, or why none
  // did (called on the launcher's thread; on the caller's once stopped).
  void Launch(cluster::WorkerStartRequest request,
              std::function<void(const std::string& error)> done);
  // The driver of `job` is gone: its workers here are killed (they would exit by themselves once
  // they notice; one busy in a task would not).
  void StopJob(uint32_t job);

 private:
  // A start whose workers have not all said whether they reached the driver (the pipes are
  // read to their ends, so that a worker never writes to a pipe without a reader).
  struct Starting {
    std::vector<pid_t> pids;
    std::vector<int> pipes;  // -1 once read to its end
    std::vector<std::string> said;
    absl::Time deadline;
    bool host = false;                             // an actor host (its words are its reason)
    std::function<void(const std::string&)> done;  // null once answered
  };
  // Answers `s` if what its workers said (or the deadline) decides it; true once `s` is over.
  bool Settle(Starting& s);
  void Run();
  // SIGTERM to every child; SIGKILL to those that have not ended after a grace; all reaped.
  void StopChildren();
  void Wake();
  // Forks and execs the request's workers: their PIDs and ready pipes (`done` unset).
  absl::StatusOr<Starting> Start(const cluster::WorkerStartRequest& request);

  const WorkerLauncherOptions options_;
  absl::Mutex mu_;
  struct Job {
    cluster::WorkerStartRequest request;
    std::function<void(const std::string&)> done;
  };
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> jobs_to_stop_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  struct Child {
    pid_t pid;
    uint32_t job;
  };
  std::vector<Child> children_;         // the launcher thread's
  std::map<pid_t, int> exit_statuses_;  // of reaped workers a start still asks about
  std::vector<Starting> starting_;      // the launcher thread's
  int wake_fd_ = -1;                    // an eventfd: work queued, or stopping
  std::thread thread_;
};

}  // namespace ray::cli
