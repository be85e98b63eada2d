// Starts a real ray_store process for a test and stops it (by PID) when destroyed.
#pragma once

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace ray::testing {

class StoreProcess {
 public:
  // `args` are extra flags, e.g. {"--capacity=64M"}. `max_open_files`, if positive, is the
  // store's descriptor limit (RLIMIT_NOFILE).
  explicit StoreProcess(std::vector<std::string> args = {}, int max_open_files = 0) {
    char dir_template[] = "/tmp/ray-store-test-XXXXXX";
    dir_ = mkdtemp(dir_template);
    socket_path_ = dir_ + "/store.sock";
    int ready[2];
    if (pipe(ready) != 0) std::abort();
    args.insert(args.begin(), {Binary(), absl::StrCat("--socket=", socket_path_),
                               absl::StrCat("--ready_fd=", ready[1])});
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      close(ready[0]);
      if (max_open_files > 0) {
        rlimit limit{static_cast<rlim_t>(max_open_files), static_cast<rlim_t>(max_open_files)};
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(126);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(ready[1]);
    char buf[8];
    ready_ = read(ready[0], buf, sizeof(buf)) > 0;  // EOF if the store failed to start
    close(ready[0]);
  }
  ~StoreProcess() {
    Kill(SIGTERM);
    std::string rm = "rm -rf " + dir_;
    (void)!system(rm.c_str());
  }

  // Path of the ray_store binary inside the test's runfiles.
  static std::string Binary() { return "ray/store/ray_store"; }
  const std::string& socket_path() const { return socket_path_; }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }
  // False once the store has exited (its wait status is then kept for Kill to return).
  bool alive() {
    if (pid_ <= 0) return false;
    if (waitpid(pid_, &exit_status_, WNOHANG) != pid_) return true;
    pid_ = -1;
    return false;
  }
  // Sends `sig` and reaps the store; returns its wait status, also when it had exited before.
  int Kill(int sig) {
    if (pid_ > 0) {
      kill(pid_, sig);
      waitpid(pid_, &exit_status_, 0);
      pid_ = -1;
    }
    return exit_status_;
  }

 private:
  std::string dir_;
  std::string socket_path_;
  pid_t pid_ = -1;
  bool ready_ = false;
  int exit_status_ = -1;
};

}  // namespace ray::testing
