#include "ray/cli/worker_launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ray/cli/log_tail.h"
#include "ray/common/pidfd.h"
#include "ray/core_worker/remote_worker_env.h"

extern char** environ;

namespace ray::cli {

namespace {

// The descriptor number a worker's end of its ready pipe has (kWorkerReadyFdEnv).
constexpr int kReadyFd = 3;

// How long a stopping node waits for its workers to end on SIGTERM before it kills them.
constexpr absl::Duration kStopGrace = absl::Seconds(5);

// In a forked child before exec: every signal's default action, none blocked. The node blocks
// SIGTERM and SIGINT (it takes them in its event loop) and ignores SIGPIPE; exec keeps both.
void ResetSignals() {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int number = 1; number < NSIG; ++number) sigaction(number, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

int PollMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
}

// "exit status 1", "signal 9".
std::string ExitDescription(int status) {
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  return absl::StrCat("exit status ", WEXITSTATUS(status));
}

}  // namespace

WorkerLauncher::WorkerLauncher(WorkerLauncherOptions options)
    : options_(std::move(options)), wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  thread_ = std::thread([this] { Run(); });
}

WorkerLauncher::~WorkerLauncher() {
  Stop();
  close(wake_fd_);
}

void WorkerLauncher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
}

void WorkerLauncher::Wake() {
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void WorkerLauncher::Launch(cluster::WorkerStartRequest request,
                            std::function<void(const std::string&)> done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      jobs_.push_back({std::move(request), std::move(done)});
      done = nullptr;
    }
  }
  if (done) return done("the node is stopping");
  Wake();
}

void WorkerLauncher::StopJob(uint32_t job) {
  {
    absl::MutexLock lock(&mu_);
    jobs_to_stop_.push_back(job);
  }
  Wake();
}

void WorkerLauncher::Run() {
  while (true) {
    // Until work is queued, a worker says something, a start's deadline, or a second (to reap;
    // soon when a worker closed its pipe without a word, for its exit status).
    std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}};
    absl::Time next = absl::Now() + absl::Seconds(1);
    for (const Starting& s : starting_) {
      next = std::min(next, s.deadline);
      for (size_t i = 0; i < s.pipes.size(); ++i) {
        if (s.pipes[i] >= 0) {
          fds.push_back({s.pipes[i], POLLIN, 0});
        } else if (s.said[i].empty() && !exit_statuses_.contains(s.pids[i])) {
          next = std::min(next, absl::Now() + absl::Milliseconds(10));
        }
      }
    }
    if (poll(fds.data(), fds.size(), PollMs(next)) < 0 && errno != EINTR) break;
    uint64_t count;
    (void)!read(wake_fd_, &count, sizeof(count));
    std::deque<Job> jobs;
    std::vector<uint32_t> stop;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) break;
      jobs.swap(jobs_);
      stop.swap(jobs_to_stop_);
    }
    // What the workers said.
    for (Starting& s : starting_) {
      for (size_t i = 0; i < s.pipes.size(); ++i) {
        if (s.pipes[i] < 0) continue;
        char buffer[512];
        ssize_t n = read(s.pipes[i], buffer, sizeof(buffer));
        if (n > 0) s.said[i].append(buffer, std::min<size_t>(n, 4096 - s.said[i].size()));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
          close(s.pipes[i]);
          s.pipes[i] = -1;
        }
      }
    }
    for (Job& job : jobs) {
      absl::StatusOr<Starting> started = Start(job.request);
      if (!started.ok()) {
        job.done(std::string(started.status().message()));
        continue;
      }
      started->done = std::move(job.done);
      starting_.push_back(*std::move(started));
    }
    for (const Child& child : children_) {
      if (std::find(stop.begin(), stop.end(), child.job) != stop.end()) kill(child.pid, SIGKILL);
    }
    std::erase_if(children_, [this](const Child& child) {
      int status = 0;
      if (waitpid(child.pid, &status, WNOHANG) != child.pid) return false;
      for (const Starting& s : starting_) {
        if (std::find(s.pids.begin(), s.pids.end(), child.pid) != s.pids.end()) {
          exit_statuses_[child.pid] = status;
        }
      }
      return true;
    });
    std::erase_if(starting_, [this](Starting& s) { return Settle(s); });
  }
  std::deque<Job> unstarted;
  {
    absl::MutexLock lock(&mu_);
    unstarted.swap(jobs_);
  }
  for (Job& job : unstarted) job.done("the node is stopping");
  for (Starting& s : starting_) {
    if (s.done) s.done("the node is stopping");
    for (int fd : s.pipes) {
      if (fd >= 0) close(fd);
    }
  }
  StopChildren();
}

void WorkerLauncher::StopChildren() {
  std::vector<core::Pidfd> ends;
  for (const Child& child : children_) {
    ends.emplace_back(static_cast<int>(syscall(SYS_pidfd_open, child.pid, 0)));
    kill(child.pid, SIGTERM);
  }
  const absl::Time deadline = absl::Now() + kStopGrace;
  for (const core::Pidfd& end : ends) {
    pollfd ended{end.get(), POLLIN, 0};
    while (end.valid() && poll(&ended, 1, PollMs(deadline)) < 0 && errno == EINTR) {
    }
  }
  for (size_t i = 0; i < children_.size(); ++i) {
    if (!ends[i].valid() || !ends[i].Ended()) kill(children_[i].pid, SIGKILL);
    waitpid(children_[i].pid, nullptr, 0);
  }
  children_.clear();
}

bool WorkerLauncher::Settle(Starting& s) {
  const size_t n = s.pipes.size();
  bool all_over = true;  // each said why, or closed its pipe and was reaped
  for (size_t i = 0; i < n; ++i) {
    if (s.done && s.said[i] == core::kWorkerReached) std::exchange(s.done, nullptr)("");
    all_over &= s.pipes[i] < 0 && (!s.said[i].empty() || exit_statuses_.contains(s.pids[i]));
  }
  // Unanswered at the deadline: failed, and its silent workers lose their readers. Once
  // answered, the others are read until they are over (a write without a reader kills).
  const bool failed_late = s.done && !all_over && absl::Now() >= s.deadline;
  if (s.done && (all_over || failed_late)) {
    // The first worker's reason: what it said, else how it ended.
    std::string why = absl::StrCat(
        s.host ? "the actor host did not register within " : "no worker reached the driver within ",
        absl::FormatDuration(options_.ready_timeout), " (see ", options_.log_path, ")");
    for (size_t i = 0; i < n; ++i) {
      if (!s.said[i].empty()) {
        why = s.host ? s.said[i] : absl::StrCat("a worker could not reach the driver: ", s.said[i]);
        break;
      }
      if (auto status = exit_statuses_.find(s.pids[i]); status != exit_statuses_.end()) {
        const char* before = s.host ? "it exited before it registered"
                                    : "its workers exited before they reached the driver";
        why =
            absl::StrCat(before, " (", ExitDescription(status->second), "; in ", options_.log_path,
                         " they wrote: ", LastLines(options_.log_path, 4), ")");
        break;
      }
    }
    std::exchange(s.done, nullptr)(why);
  }
  if (!all_over && !failed_late) return false;
  for (int& fd : s.pipes) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  for (pid_t pid : s.pids) exit_statuses_.erase(pid);
  return true;
}

absl::StatusOr<WorkerLauncher::Starting> WorkerLauncher::Start(
    const cluster::WorkerStartRequest& request) {
  absl::StatusOr<cluster::LocalProgram> program = options_.fetch_program(request.program_key);
  if (!program.ok()) {
    return absl::Status(program.status().code(),
                        absl::StrCat("cannot fetch the program ", request.program_key, ": ",
                                     program.status().message()));
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
        entry.starts_with("RAY_WORKER_") || entry.starts_with("RAY_ACTOR_HOST_") ||
        overridden(entry)) {
      continue;
    }
    env_strings.emplace_back(entry);
  }
  for (const std::string& given : request.env) {
    if (!given.starts_with("LD_LIBRARY_PATH=") && !given.starts_with("RAY_")) {
      env_strings.push_back(given);
    }
  }
  if (request.host) {  // it joins the head as a driver of its own (actor_host.h)
    env_strings.push_back(absl::StrCat(core::kActorHostHeadEnv, "=", request.scheduler));
    env_strings.push_back(absl::StrCat(core::kActorHostKeyEnv, "=", request.host_key));
  } else {
    env_strings.push_back(absl::StrCat(core::kSchedulerAddressEnv, "=", request.scheduler));
    env_strings.push_back(absl::StrCat(core::kWorkerNodeIdEnv, "=", options_.node_id));
    env_strings.push_back(absl::StrCat(core::kWorkerStoreEnv, "=", options_.store_socket));
  }
  env_strings.push_back(absl::StrCat("RAY_AUTH_TOKEN=", options_.credentials.token));
  env_strings.push_back(absl::StrCat("LD_LIBRARY_PATH=", program->library_dir));
  env_strings.push_back(absl::StrCat(core::kWorkerReadyFdEnv, "=", kReadyFd));
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
  Starting started{.deadline = absl::Now() + options_.ready_timeout, .host = request.host};
  absl::Status status;
  const int count = request.host ? 1 : request.count;
  for (int i = 0; i < count && status.ok(); ++i) {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) {
      status = absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
      break;
    }
    pid_t pid = fork();
    if (pid < 0) {
      status = absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
      close(ready[0]);
      close(ready[1]);
      break;
    }
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      ResetSignals();
      int null = open("/dev/null", O_RDONLY);
      if (null >= 0) dup2(null, STDIN_FILENO);
      if (log >= 0) {
        dup2(log, STDOUT_FILENO);
        dup2(log, STDERR_FILENO);
      }
      // dup2 leaves the copy open across exec; the same number keeps its close-on-exec flag.
      if (ready[1] == kReadyFd) {
        fcntl(kReadyFd, F_SETFD, 0);
      } else {
        dup2(ready[1], kReadyFd);
      }
      execve(path, argv.data(), envp.data());
      _exit(127);
    }
    close(ready[1]);
    fcntl(ready[0], F_SETFL, O_NONBLOCK);
    started.pids.push_back(pid);
    started.pipes.push_back(ready[0]);
    started.said.emplace_back();
    children_.push_back({pid, request.job});
  }
  if (log >= 0) close(log);
  if (started.pipes.empty()) return status;
  return started;  // a fork that failed after others: those run
}

}  // namespace ray::cli
