// Starts the workers drivers ask of this node (node.capnp, startWorkers): the driver's own
// program, fetched from the head by its key and cached, run with the environment that makes it a
// worker of that driver's scheduler (ray/core_worker/remote_worker.h). The workers die with the
// node (PR_SET_PDEATHSIG on the launcher's thread, which lives as long as the node).
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
#include "ray/cluster/node_service.h"
#include "ray/cluster/program_cache.h"

namespace ray::cli {

struct WorkerLauncherOptions {
  std::string node_id;
  std::string store_socket;
  std::string token;
  std::string log_path;  // the workers' stdout and stderr
  // The program with this key, fetched if not cached (may block; called on the launcher's thread).
  std::function<absl::StatusOr<cluster::LocalProgram>(const std::string& key)> fetch_program;
};

class WorkerLauncher {
 public:
  explicit WorkerLauncher(WorkerLauncherOptions options);
  ~WorkerLauncher();  // stops the workers still running (SIGTERM) and the thread

  // Queues `request`; `done` gets "" once one of its workers has connected to its scheduler, or
  // why none will: the program could not be fetched or run, or every worker exited before it
  // connected (their exit status and the last line of the log) (called on the launcher's
  // thread).
  void Launch(cluster::WorkerStartRequest request,
              std::function<void(const std::string& error)> done);
  // The driver of `job` is gone: its workers here are killed (they would exit by themselves once
  // they notice; one busy in a task would not).
  void StopJob(uint32_t job);

 private:
  struct Job {
    cluster::WorkerStartRequest request;
    std::function<void(const std::string&)> done;
  };
  // A launch whose workers run: answered (done called, then null) once one has connected.
  struct Pending {
    std::function<void(const std::string&)> done;
    int ready_fd;         // the pipe's read end (non-blocking): a byte from each that connected
    int running;          // its workers not exited yet
    int last_status = 0;  // waitpid's, of the last that exited
  };
  struct Child {
    pid_t pid;
    uint32_t job;
    int launch;  // its key in pending_
  };

  void Run();
  // Starts the workers of `job` (pending until they exit); calls its `done` at once if it
  // cannot.
  void Start(Job& job);
  // Reaps the children that exited, and ends the launches they decide.
  void Reap();
  // Answers the launches that a worker has connected for.
  void ReadReady();

  const WorkerLauncherOptions options_;
  absl::Mutex mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> jobs_to_stop_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The launcher thread's:
  std::vector<Child> children_;
  std::map<int, Pending> pending_;
  int next_launch_ = 0;
  std::thread thread_;
};

}  // namespace ray::cli
