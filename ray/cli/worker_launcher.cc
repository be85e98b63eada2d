#include "ray/cli/worker_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ray/core_worker/remote_worker_env.h"

extern char** environ;

namespace ray::cli {

WorkerLauncher::WorkerLauncher(WorkerLauncherOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

WorkerLauncher::~WorkerLauncher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void WorkerLauncher::Launch(cluster::WorkerStartRequest request,
                            std::function<void(const std::string&)> done) {
  absl::MutexLock lock(&mu_);
  jobs_.push_back({std::move(request), std::move(done)});
}

void WorkerLauncher::StopJob(uint32_t job) {
  absl::MutexLock lock(&mu_);
  jobs_to_stop_.push_back(job);
}

void WorkerLauncher::Run() {
  while (true) {
    std::deque<Job> jobs;
    std::vector<uint32_t> stop;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !jobs_.empty() || !jobs_to_stop_.empty();
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(1));
      if (stopping_) break;
      jobs.swap(jobs_);
      stop.swap(jobs_to_stop_);
    }
    for (Job& job : jobs) job.done(Start(job.request));
    for (const Child& child : children_) {
      if (std::find(stop.begin(), stop.end(), child.job) != stop.end()) kill(child.pid, SIGKILL);
    }
    std::erase_if(children_, [](const Child& child) {
      return waitpid(child.pid, nullptr, WNOHANG) == child.pid;
    });
  }
  for (const Child& child : children_) kill(child.pid, SIGTERM);
  for (const Child& child : children_) waitpid(child.pid, nullptr, 0);
}

std::string WorkerLauncher::Start(const cluster::WorkerStartRequest& request) {
  absl::StatusOr<cluster::LocalProgram> program = options_.fetch_program(request.program_key);
  if (!program.ok()) {
    return absl::StrCat("cannot fetch the program ", request.program_key, ": ",
                        program.status().message());
  }
  // Everything the child needs is made before the fork (it may only exec after it).
  std::vector<std::string> env_strings;
  auto overridden = [&request](std::string_view entry) {
    for (const std::string& given : request.env) {
      if (entry.substr(0, entry.find('=') + 1) == given.substr(0, given.find('=') + 1)) {
        return true;
      }
    }
    return false;
  };
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.starts_with("LD_LIBRARY_PATH=") || entry.starts_with("RAY_AUTH_TOKEN=") ||
        entry.starts_with("RAY_WORKER_") || overridden(entry)) {
      continue;
    }
    env_strings.emplace_back(entry);
  }
  for (const std::string& given : request.env) {
    if (!given.starts_with("LD_LIBRARY_PATH=") && !given.starts_with("RAY_")) {
      env_strings.push_back(given);
    }
  }
  env_strings.push_back(absl::StrCat(core::kSchedulerAddressEnv, "=", request.scheduler));
  env_strings.push_back(absl::StrCat(core::kWorkerNodeIdEnv, "=", options_.node_id));
  env_strings.push_back(absl::StrCat(core::kWorkerStoreEnv, "=", options_.store_socket));
  env_strings.push_back(absl::StrCat("RAY_AUTH_TOKEN=", options_.credentials.token));
  env_strings.push_back(absl::StrCat("LD_LIBRARY_PATH=", program->library_dir));
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = request.argv;
  if (argv_strings.empty()) argv_strings.push_back(program->executable);
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  int log = open(options_.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const char* path = program->executable.c_str();
  pid_t parent = getpid();
  for (int i = 0; i < request.count; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      if (log >= 0) close(log);
      return absl::StrCat("fork: ", std::strerror(errno));
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      int null = open("/dev/null", O_RDONLY);
      if (null >= 0) dup2(null, STDIN_FILENO);
      if (log >= 0) {
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
      }
      execve(path, argv.data(), envp.data());
      _exit(127);
    }
    children_.push_back({pid, request.job});
  }
  if (log >= 0) close(log);
  return "";
}

}  // namespace ray::cli
