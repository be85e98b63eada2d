#include "ray/cli/worker_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ray/core_worker/remote_worker_env.h"

extern char** environ;

namespace ray::cli {
namespace {

// "exit status 1", "signal 9".
std::string ExitDescription(int status) {
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  return absl::StrCat("exit status ", WEXITSTATUS(status));
}

// The last `count` lines of the file at `path` that are not blank (of its last 4 KiB), trimmed
// and joined by " / "; "" if there are none.
std::string LastLines(const std::string& path, int count) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string tail(4096, '\0');
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > static_cast<off_t>(tail.size()) ? size - tail.size() : 0;
  ssize_t n = pread(fd, tail.data(), tail.size(), from);
  close(fd);
  tail.resize(n > 0 ? n : 0);
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(tail, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) lines.emplace_back(line);
  }
  if (lines.size() > static_cast<size_t>(count)) lines.erase(lines.begin(), lines.end() - count);
  return absl::StrJoin(lines, " / ");
}

}  // namespace

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
      // Launches not answered yet are looked at again within 100 ms.
      const bool unanswered = std::any_of(pending_.begin(), pending_.end(),
                                          [](const auto& p) { return p.second.done != nullptr; });
      mu_.AwaitWithTimeout(absl::Condition(&ready),
                           unanswered ? absl::Milliseconds(100) : absl::Seconds(1));
      if (stopping_) break;
      jobs.swap(jobs_);
      stop.swap(jobs_to_stop_);
    }
    for (Job& job : jobs) Start(job);
    for (const Child& child : children_) {
      if (std::find(stop.begin(), stop.end(), child.job) != stop.end()) kill(child.pid, SIGKILL);
    }
    ReadReady();
    Reap();
  }
  for (const Child& child : children_) kill(child.pid, SIGTERM);
  for (const Child& child : children_) waitpid(child.pid, nullptr, 0);
  for (auto& [key, launch] : pending_) {
    close(launch.ready_fd);
    if (launch.done) launch.done("the node is stopping");
  }
}

void WorkerLauncher::ReadReady() {
  for (auto& [key, launch] : pending_) {
    char bytes[64];
    // Read while its workers run: a worker writing to a pipe without a reader would die.
    while (read(launch.ready_fd, bytes, sizeof(bytes)) > 0) {
      if (launch.done) std::exchange(launch.done, nullptr)("");
    }
  }
}

void WorkerLauncher::Reap() {
  std::erase_if(children_, [this](const Child& child) {
    int status = 0;
    if (waitpid(child.pid, &status, WNOHANG) != child.pid) return false;
    if (auto it = pending_.find(child.launch); it != pending_.end()) {
      it->second.last_status = status;
      --it->second.running;
    }
    return true;
  });
  ReadReady();  // a worker that connected and then exited counts as started
  for (auto it = pending_.begin(); it != pending_.end();) {
    Pending& launch = it->second;
    if (launch.running > 0) {
      ++it;
      continue;
    }
    close(launch.ready_fd);
    if (launch.done) {
      launch.done(absl::StrCat("its workers exited before they connected to the driver (",
                               ExitDescription(launch.last_status), "; in ", options_.log_path,
                               " they wrote: ", LastLines(options_.log_path, 4), ")"));
    }
    it = pending_.erase(it);
  }
}

void WorkerLauncher::Start(Job& job) {
  const cluster::WorkerStartRequest& request = job.request;
  absl::StatusOr<cluster::LocalProgram> program = options_.fetch_program(request.program_key);
  if (!program.ok()) {
    job.done(absl::StrCat("cannot fetch the program ", request.program_key, ": ",
                          program.status().message()));
    return;
  }
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    job.done(absl::StrCat("pipe: ", std::strerror(errno)));
    return;
  }
  fcntl(ready[0], F_SETFL, O_NONBLOCK);
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
  env_strings.push_back(absl::StrCat("RAY_AUTH_TOKEN=", options_.token));
  env_strings.push_back(absl::StrCat("LD_LIBRARY_PATH=", program->library_dir));
  env_strings.push_back(absl::StrCat(core::kWorkerReadyFdEnv, "=", ready[1]));
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
  const int launch = next_launch_++;
  int started = 0;
  std::string fork_error;
  for (int i = 0; i < request.count; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      fork_error = absl::StrCat("fork: ", std::strerror(errno));
      break;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      fcntl(ready[1], F_SETFD, 0);  // the worker's, across exec
      int null = open("/dev/null", O_RDONLY);
      if (null >= 0) dup2(null, STDIN_FILENO);
      if (log >= 0) {
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
      }
      execve(path, argv.data(), envp.data());
      _exit(127);
    }
    children_.push_back({pid, request.job, launch});
    ++started;
  }
  if (log >= 0) close(log);
  close(ready[1]);
  if (started == 0) {
    close(ready[0]);
    job.done(fork_error);
    return;
  }
  pending_.emplace(launch, Pending{std::move(job.done), ready[0], started});
}

}  // namespace ray::cli
