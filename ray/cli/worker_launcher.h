// Starts the workers drivers ask of this node (node.capnp, startWorkers): the driver's own
// program, fetched from the head by its key and cached, run with the environment that makes it a
// worker of that driver's scheduler (ray/core_worker/remote_worker.h). The workers die with the
// node (PR_SET_PDEATHSIG on the launcher's thread, which lives as long as the node).
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "ray/cluster/node_service.h"
#include "ray/cluster/program_cache.h"

namespace ray::cli {

struct WorkerLauncherOptions {
  std::string node_id;
  std::string store_socket;
  cluster::Credentials credentials;  // its token goes to the workers (TLS: the environment's)
  std::string log_path;              // the workers' stdout and stderr
  // The program with this key, fetched if not cached (may block; called on the launcher's thread).
  std::function<absl::StatusOr<cluster::LocalProgram>(const std::string& key)> fetch_program;
};

class WorkerLauncher {
 public:
  explicit WorkerLauncher(WorkerLauncherOptions options);
  ~WorkerLauncher();  // stops the workers still running (SIGTERM) and the thread

  // Queues `request`; `done` gets "" once its workers are started, or why they are not (called
  // on the launcher's thread).
  void Launch(cluster::WorkerStartRequest request,
              std::function<void(const std::string& error)> done);
  // The driver of `job` is gone: its workers here are killed (they would exit by themselves once
  // they notice; one busy in a task would not).
  void StopJob(uint32_t job);

 private:
  void Run();
  std::string Start(const cluster::WorkerStartRequest& request);

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
  std::thread thread_;
};

}  // namespace ray::cli
