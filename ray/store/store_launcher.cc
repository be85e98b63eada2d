#include "ray/store/store_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ray::store {

absl::StatusOr<StoreProcess> StoreProcess::Start(const std::string& binary,
                                                 const std::string& socket_path,
                                                 std::vector<std::string> extra_flags) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  std::vector<std::string> args = {binary, absl::StrCat("--socket=", socket_path),
                                   absl::StrCat("--ready_fd=", ready[1])};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);  // the parent died before prctl
    close(ready[0]);
    fcntl(ready[1], F_SETFD, 0);  // the store inherits the write end
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(ready[1]);
  StoreProcess process;
  process.pid_ = pid;
  char buf[8];
  ssize_t n;
  do {
    n = read(ready[0], buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  close(ready[0]);
  if (n <= 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    process.pid_ = -1;
    return absl::InternalError(
        absl::StrCat("ray_store (", binary, ") exited before serving; ",
                     WIFEXITED(status) ? "exit code " : "signal ",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)));
  }
  return process;
}

StoreProcess::StoreProcess(StoreProcess&& other) noexcept { *this = std::move(other); }

StoreProcess& StoreProcess::operator=(StoreProcess&& other) noexcept {
  if (this != &other) {
    Stop();
    pid_ = std::exchange(other.pid_, -1);
  }
  return *this;
}

StoreProcess::~StoreProcess() { Stop(); }

void StoreProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace ray::store
