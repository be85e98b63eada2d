// Starts the workers drivers ask of this node (node.capnp, startWorkers): the driver's own
// program, fetched from the head by its key and cached, run with the environment that makes it a
// worker of that driver's scheduler (ray/core_worker/remote_worker.h). A start is done once each
// of its workers has said, on a pipe of its own, that it reached the driver; a worker that says
// why it could not, or exits or stays silent until the deadline, fails the start with that
// reason (the driver then stops using this node). The workers die with the node
// (PR_SET_PDEATHSIG on the launcher's thread, which lives as long as the node).
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
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
  ~WorkerLauncher();  // stops the workers still running (SIGTERM) and the thread

  // Queues `request`; `done` gets "" once its workers have reached the driver, or why they have
  // not (called on the launcher's thread).
  void Launch(cluster::WorkerStartRequest request,
              std::function<void(const std::string& error)> done);
  // The driver of `job` is gone: its workers here are killed (they would exit by themselves once
  // they notice; one busy in a task would not).
  void StopJob(uint32_t job);

 private:
  void Run();
  void Wake();
  // Forks and execs the request's workers; the read ends of their ready pipes.
  absl::StatusOr<std::vector<int>> Start(const cluster::WorkerStartRequest& request);

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
  std::vector<Child> children_;  // the launcher thread's
  // A start whose workers have not all said whether they reached the driver.
  struct Starting {
    std::vector<int> pipes;  // -1 once read to its end
    std::vector<std::string> said;
    absl::Time deadline;
    std::function<void(const std::string&)> done;
  };
  std::vector<Starting> starting_;  // the launcher thread's
  int wake_fd_ = -1;                // an eventfd: work queued, or stopping
  std::thread thread_;
};

}  // namespace ray::cli
