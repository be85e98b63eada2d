#include "ray/store/store_runner.h"

#include <kj/async-unix.h>
#include <kj/debug.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include "ray/store/store_server.h"

namespace ray::store {

int RunStore(const StoreOptions& options, const std::string& socket_path, int ready_fd,
             const ServerOptions& server_options) {
  signal(SIGPIPE, SIG_IGN);
  // Each client costs a descriptor or two: allow as many as the hard limit does, so that the
  // caps on sessions (not a soft limit of 1024) decide how many clients the store takes.
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &files);
  }
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  auto store = ObjectStore::Create(options);
  if (!store.ok()) {
    std::cerr << "ray_store: " << store.status() << "\n";
    return 1;
  }
  auto io = kj::setupAsyncIo();
  StoreServer server(**store, io, server_options);
  if (absl::Status status = server.Listen(socket_path); !status.ok()) {
    std::cerr << "ray_store: " << status << "\n";
    return 1;
  }
  if (ready_fd >= 0) {
    (void)!write(ready_fd, "ready\n", 6);
    close(ready_fd);
  }
  auto serving = server.Run().eagerlyEvaluate(
      [](kj::Exception&& e) { KJ_LOG(ERROR, "store stopped accepting clients", e); });
  auto stop = io.unixEventPort.onSignal(SIGTERM).exclusiveJoin(io.unixEventPort.onSignal(SIGINT));
  stop.wait(io.waitScope);
  unlink(socket_path.c_str());
  return 0;
}

bool AwaitStoreReady(int read_fd) {
  char buf[8];
  ssize_t n;
  do {
    n = read(read_fd, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  close(read_fd);
  return n > 0;
}

}  // namespace ray::store
