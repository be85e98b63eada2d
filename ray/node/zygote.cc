#include "ray/node/zygote.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ray/common/fork_closed_fd.h"
#include "ray/node/crash_report.h"
#include "ray/rpc/zygote_messages.h"

namespace ray::core {
namespace {

// The driver's ends of the live zygotes' sockets. A zygote ends when its socket closes, so a
// process forked from the driver must not keep one open.
ForkClosedFd driver_sockets[16];

void RememberDriverSocket(int fd) {
  for (ForkClosedFd& slot : driver_sockets) {
    if (slot.TryHold(fd)) return;
  }
  // More than 16 live sessions in one process: this one's socket is not closed in forks.
}

void ForgetDriverSocket(int fd) {
  for (ForkClosedFd& slot : driver_sockets) {
    if (slot.Release(fd)) return;
  }
}

absl::Status Errno(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Sends `size` bytes and, if fd >= 0, the descriptor with them (one datagram).
bool SendWithFd(int socket, const void* data, size_t size, int fd) {
  iovec iov{const_cast<void*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(size);
}

// Receives up to `size` bytes and the descriptor that came with them (-1 if none). The number
// of bytes; 0 at end of stream.
ssize_t ReceiveWithFd(int socket, void* data, size_t size, int* fd) {
  iovec iov{data, size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  *fd = -1;
  if (n <= 0) return 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      std::memcpy(fd, CMSG_DATA(c), sizeof(int));
    }
  }
  return n;
}

// The zygote's SIGCHLD handler: reaps every child that ended (no zombies).
void ReapChildren(int) {
  int saved_errno = errno;
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  errno = saved_errno;
}

}  // namespace

void SetProcessTitle(const char* title, bool command_line) {
  prctl(PR_SET_NAME, title);
  if (!command_line) return;
  // The command line is the memory between arg_start and arg_end (/proc/self/stat, fields 48
  // and 49), this process's own copy of the driver's: overwritten in place, the rest zeroed.
  char stat[2048];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, stat, sizeof(stat) - 1);
  close(fd);
  if (n <= 0) return;
  stat[n] = '\0';
  const char* fields = strrchr(stat, ')');  // after the command name, which may hold spaces
  if (fields == nullptr) return;
  unsigned long arg_start = 0, arg_end = 0;  // fields 48 and 49; the first after ')' is 3
  int field = 2;
  for (const char* p = fields + 1; *p != '\0'; ++p) {
    if (*p != ' ') continue;
    ++field;
    if (field == 48) arg_start = strtoul(p + 1, nullptr, 10);
    if (field == 49) arg_end = strtoul(p + 1, nullptr, 10);
  }
  if (arg_start == 0 || arg_end <= arg_start) return;
  char* args = reinterpret_cast<char*>(arg_start);
  size_t size = arg_end - arg_start;
  memset(args, 0, size);
  memcpy(args, title, std::min(strlen(title), size - 1));
}

namespace {

// The zygote's loop: fork a child per request until the driver goes away.
[[noreturn]] void ServeRequests(int socket, const Zygote::ChildMain& store_main,
                                const Zygote::ChildMain& worker_main,
                                const std::string& session_dir) {
  std::vector<Pidfd> children;  // by pidfd: a pid may name another process once reaped
  char packet[kMaxZygotePacket];
  ssize_t size;
  int fd;
  sigset_t sigchld, unblocked;
  sigemptyset(&sigchld);
  sigaddset(&sigchld, SIGCHLD);
  while ((size = ReceiveWithFd(socket, packet, sizeof(packet), &fd)) > 0) {
    std::erase_if(children, [](const Pidfd& child) { return child.Ended(); });
    absl::StatusOr<rpc::ProcessKind> request = DecodeSpawnRequest({packet, size_t(size)});
    if (!request.ok()) {  // only the driver holds this socket: a bug, reported, not fatal
      fprintf(stderr, "ray::zygote: %s\n", request.status().ToString().c_str());
      if (fd >= 0) close(fd);
      std::string refused = EncodeSpawnReply(-1);
      (void)SendWithFd(socket, refused.data(), refused.size(), -1);
      continue;
    }
    const bool store = *request == rpc::ProcessKind::STORE;
    pid_t zygote = getpid();
    // SIGCHLD waits until the child has a pidfd: the child cannot be reaped (and its pid
    // reused) before.
    sigprocmask(SIG_BLOCK, &sigchld, &unblocked);
    pid_t child = fork();
    if (child == 0) {
      close(socket);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != zygote) _exit(1);
      signal(SIGCHLD, SIG_DFL);
      sigprocmask(SIG_SETMASK, &unblocked, nullptr);
      const char* name = store ? "ray::store" : "ray::worker";
      // A worker's command line is its runner's business (see worker_main): the user's code
      // runs there and may point into the driver's arguments.
      SetProcessTitle(name, /*command_line=*/store);
      InstallCrashReporter(name);  // a crash prints where (crash_report.h), once per task
      int code = (store ? store_main : worker_main)(fd);
      _exit(code);
    }
    int pidfd = child > 0 ? static_cast<int>(syscall(SYS_pidfd_open, child, 0)) : -1;
    sigprocmask(SIG_SETMASK, &unblocked, nullptr);
    if (fd >= 0) close(fd);
    if (pidfd < 0 && child > 0) kill(child, SIGKILL);
    std::string reply = EncodeSpawnReply(pidfd >= 0 ? child : -1);
    (void)SendWithFd(socket, reply.data(), reply.size(), pidfd);
    if (pidfd >= 0) children.emplace_back(pidfd);
  }
  // The driver is gone or shutting down: stop everything this zygote started.
  auto wait_for_children = [&](int tries) {  // 10 ms apart
    for (int i = 0; i < tries; ++i) {
      bool any = false;
      for (const Pidfd& child : children) any |= !child.Ended();
      if (!any) return;
      usleep(10000);
    }
  };
  for (const Pidfd& child : children) child.Signal(SIGTERM);
  wait_for_children(200);  // 2 s of grace
  for (const Pidfd& child : children) child.Kill();
  wait_for_children(100);  // none writes into the session folder any more
  if (!session_dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(session_dir, ignored);
  }
  // What the node's processes started and left (a task's subprocess) ends with the node,
  // unless it left the node's process group: the group's last signal, this process too.
  if (getpgrp() == getpid()) kill(0, SIGKILL);  // never the driver's group
  _exit(0);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Zygote>> Zygote::Start(ChildMain store_main, ChildMain worker_main,
                                                      std::string session_dir) {
  int sockets[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) {
    return Errno("socketpair");
  }
  pid_t pid = fork();
  if (pid < 0) return Errno("fork");
  if (pid == 0) {
    close(sockets[0]);
    // No PR_SET_PDEATHSIG here: it fires when the thread that forked the zygote ends, not the
    // driver process. The zygote learns that the driver is gone from its socket, which the
    // kernel closes when the driver exits in any way (SIGKILL too); it then stops its
    // children and removes the session folder.
    SetProcessTitle("ray::zygote", /*command_line=*/true);
    PrepareCrashReports();
    // A process group of its own (the store and the workers inherit it): Ctrl-C in a terminal
    // signals the foreground group, which is the driver's business (KeyboardInterrupt in
    // Python), and must not stop the node under it. The node still dies with the driver.
    setpgid(0, 0);
    struct sigaction reap {};
    reap.sa_handler = &ReapChildren;
    reap.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &reap, nullptr);
    ServeRequests(sockets[1], store_main, worker_main, session_dir);
  }
  close(sockets[1]);
  RememberDriverSocket(sockets[0]);
  return std::unique_ptr<Zygote>(new Zygote(pid, sockets[0]));
}

Zygote::~Zygote() {
  ForgetDriverSocket(socket_);
  close(socket_);  // end of stream: the zygote stops its children and exits
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

absl::StatusOr<pid_t> Zygote::SpawnStore(int fd) {
  absl::StatusOr<SpawnedProcess> store = Spawn(rpc::ProcessKind::STORE, fd);
  if (!store.ok()) return store.status();
  return store->pid;
}

absl::StatusOr<SpawnedProcess> Zygote::Spawn(rpc::ProcessKind kind, int fd) {
  std::string request = EncodeSpawnRequest(kind);
  bool sent = SendWithFd(socket_, request.data(), request.size(), fd);
  if (fd >= 0) close(fd);
  if (!sent) return Errno("the zygote is gone");
  char packet[kMaxZygotePacket];
  int pidfd = -1;
  ssize_t n = ReceiveWithFd(socket_, packet, sizeof(packet), &pidfd);
  Pidfd process(pidfd);
  absl::StatusOr<pid_t> child = DecodeSpawnReply({packet, size_t(n)});
  if (!child.ok() || *child <= 0 || !process.valid()) {
    return absl::InternalError("the zygote could not fork");
  }
  return SpawnedProcess{*child, std::move(process)};
}

}  // namespace ray::core
