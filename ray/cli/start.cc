#include "ray/cli/start.h"

#include <fcntl.h>
#include <kj/async-unix.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "ray/cli/job_objects.h"
#include "ray/cli/log_tail.h"
#include "ray/cli/node_folder.h"
#include "ray/cli/worker_launcher.h"
#include "ray/cluster/head_client.h"
#include "ray/cluster/head_server.h"
#include "ray/cluster/local_files.h"
#include "ray/cluster/node_service.h"
#include "ray/common/pidfd.h"
#include "ray/core_worker/limits.h"
#include "ray/object_manager/object_server.h"
#include "ray/store/client.h"
#include "ray/store/shared_memory.h"
#include "ray/store/store_runner.h"

namespace ray::cli {
namespace {

// What the node runs with, settled before it forks.
struct NodePlan {
  StartOptions options;
  std::string root;
  std::string folder;
  cluster::Credentials credentials;
  std::string head_address;  // to join (empty for the head)
  std::string owner_token;   // makes the node's store client the store's owner (deletes)
  cluster::NodeEntry node;
};

// Tells `ray start` (through the readiness pipe) or the terminal (--block) how the start went.
void Report(int ready_fd, bool ok, const std::string& text) {
  if (ready_fd < 0) {
    (ok ? std::cout : std::cerr) << text << std::flush;
    return;
  }
  std::string message = absl::StrCat(ok ? "ok " : "error ", text);
  (void)!write(ready_fd, message.data(), message.size());
  close(ready_fd);
}

std::string HowToUse(const NodePlan& plan, const std::string& address) {
  std::string what = plan.options.head ? "head node" : "node";
  std::string text = absl::StrCat("Started ", what, " ", plan.node.node_id, " (session folder ",
                                  plan.folder, ").\nCluster address: ", address, "\n");
  absl::StrAppend(&text, "To add a node: ray start --address=", address,
                  "\nTo connect a driver: ray::Init({.address = \"", address,
                  "\"}), ray.init(address=\"", address, "\") or RAY_ADDRESS=", address,
                  "\nThe cluster token is RAY_AUTH_TOKEN, else the file ",
                  cluster::TokenFile(plan.root, address),
                  " on this machine.\nStatus: ray status   Stop every node here: ray stop\n");
  return text;
}

// The program with `key` (a driver's, to run as its workers), from the cache in `cache` or
// fetched from the head at `head`.
absl::StatusOr<cluster::LocalProgram> FetchProgram(const std::string& head,
                                                   const cluster::Credentials& credentials,
                                                   const std::string& key,
                                                   const std::string& cache) {
  if (auto cached = cluster::ProgramCache::Open(cache); cached.ok()) {
    if (std::optional<cluster::LocalProgram> found = cached->Find(key)) return *found;
  }
  auto client = cluster::HeadClient::Connect(head, credentials);
  if (!client.ok()) return client.status();
  return (*client)->FetchProgram(key, cache);
}

// Forks the node's store (which dies with this process); returns its pidfd once it serves.
// The store closes `ready_fd` (`ray start` waits for its end).
absl::StatusOr<core::Pidfd> StartStore(const NodePlan& plan, int ready_fd, pid_t* pid) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return absl::InternalError("pipe");
  store::StoreOptions store_options;
  store_options.capacity = plan.node.object_store_bytes;
  store_options.owner_token = plan.owner_token;
  std::string socket = StoreSocketPath(plan.folder);
  std::string log = plan.folder + "/store.log";
  pid_t parent = getpid();
  *pid = fork();
  if (*pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    prctl(PR_SET_NAME, "ray::store");
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    close(ready[0]);
    if (ready_fd >= 0) close(ready_fd);
    _exit(store::RunStore(store_options, socket, ready[1]));
  }
  close(ready[1]);
  core::Pidfd store(*pid > 0 ? static_cast<int>(syscall(SYS_pidfd_open, *pid, 0)) : -1);
  if (!store::AwaitStoreReady(ready[0]) || !store.valid()) {
    // Its log is quoted: the folder goes with the failed start.
    std::string said = LastLines(log, 3);
    return absl::InternalError(
        absl::StrCat("the object store did not start", said.empty() ? "" : ": ", said));
  }
  return store;
}

// The node's process: store, head or link to the head, until SIGTERM, SIGINT, the store's
// end or (a node that joined) the head's loss. Returns the exit code.
int RunNode(NodePlan plan, int ready_fd) {
  prctl(PR_SET_NAME, plan.options.head ? "ray::head" : "ray::node");
  signal(SIGPIPE, SIG_IGN);
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  std::string error;
  std::string address;
  pid_t store_pid = -1;
  int lost[2] = {-1, -1};  // the link to the head writes why it lost the head
  bool head_gone = false;
  {
    if (absl::Status written = WritePidFile(plan.folder); !written.ok()) {
      Report(ready_fd, false, absl::StrCat(written.message(), "\n"));
      std::filesystem::remove_all(plan.folder);
      return 1;
    }
    auto store = StartStore(plan, ready_fd, &store_pid);
    std::unique_ptr<store::StoreClient> store_client;
    if (store.ok()) {
      auto client = store::StoreClient::Connect(StoreSocketPath(plan.folder),
                                                {.name = "node", .owner_token = plan.owner_token});
      if (client.ok()) store_client = *std::move(client);
    }
    auto used = [&store_client]() -> uint64_t {
      if (!store_client) return 0;
      auto stats = store_client->Stats();
      return stats.ok() ? stats->used : 0;
    };
    auto io = kj::setupAsyncIo();
    std::unique_ptr<cluster::HeadServer> head;
    std::unique_ptr<cluster::HeadClient> link;
    kj::Promise<void> serving = kj::NEVER_DONE;
    // The objects of each driver here (deleted when it is gone), the drivers' workers on this
    // node, and the service through which drivers ask for them.
    JobObjects job_objects;
    if (store_client) {
      (void)store_client->Subscribe(
          [&job_objects](std::span<const ObjectID> ids) { job_objects.Sealed(ids); });
    }
    std::string head_address = plan.head_address;  // the head's own once it listens
    WorkerLauncher launcher({.node_id = plan.node.node_id,
                             .store_socket = StoreSocketPath(plan.folder),
                             .credentials = plan.credentials,
                             .log_path = plan.folder + "/workers.log",
                             .fetch_program = [&plan, &head_address](const std::string& key) {
                               return FetchProgram(head_address, plan.credentials, key,
                                                   plan.root + "/programs");
                             }});
    // Drivers' workers (the node service) and the head's actor hosts: "" once started, or why not.
    auto launch = [&launcher](cluster::WorkerStartRequest request) {
      auto started = kj::newPromiseAndCrossThreadFulfiller<std::string>();
      auto fulfiller = std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<std::string>>>(
          kj::mv(started.fulfiller));
      launcher.Launch(std::move(request), [fulfiller](const std::string& error) {
        (*fulfiller)->fulfill(std::string(error));
      });
      return kj::mv(started.promise);
    };
    cluster::NodeServer service(io, plan.credentials, cluster::HandshakeTimeoutFromEnv(),
                                {.start_workers = launch,
                                 .free_objects =
                                     [&store_client, &job_objects](std::vector<ObjectID> ids) {
                                       if (store_client) (void)store_client->Delete(ids);
                                       job_objects.Deleted(ids);
                                     },
                                 .driver_gone =
                                     [&store_client, &job_objects, &launcher](uint32_t job) {
                                       launcher.StopJob(job);
                                       std::vector<ObjectID> ids = job_objects.Take(job);
                                       if (store_client && !ids.empty())
                                         (void)store_client->Delete(ids);
                                     }});
    // Its objects, for the other nodes to copy.
    std::unique_ptr<object_manager::ObjectServer> objects;
    if (store.ok()) {
      auto port = service.Listen(plan.options.node_ip_address, 0);
      if (port.ok()) {
        plan.node.service_address = absl::StrCat(plan.options.node_ip_address, ":", *port);
      } else {
        error = std::string(port.status().message());
      }
      auto started = object_manager::ObjectServer::Start(
          {.credentials = plan.credentials,
           .store_socket = StoreSocketPath(plan.folder),
           .host = plan.options.node_ip_address,
           .handshake_timeout = cluster::HandshakeTimeoutFromEnv()});
      if (started.ok()) {
        objects = *std::move(started);
        plan.node.object_address = absl::StrCat(plan.options.node_ip_address, ":", objects->port());
      } else if (error.empty()) {
        error = std::string(started.status().message());
      }
    }
    if (!error.empty()) {
    } else if (!store.ok()) {
      error = std::string(store.status().message());
    } else if (plan.options.head) {
      head = std::make_unique<cluster::HeadServer>(
          io, cluster::HeadOptions{.credentials = plan.credentials,
                                   .health = cluster::HealthFromEnv(),
                                   .handshake_timeout = cluster::HandshakeTimeoutFromEnv(),
                                   .local_store_used = used,
                                   .program_dir = plan.folder + "/programs",
                                   .start_actor_host = launch});
      auto port = head->Listen(plan.options.node_ip_address, plan.options.port);
      absl::Status status = port.status();
      if (port.ok()) {
        address = absl::StrCat(plan.options.node_ip_address, ":", *port);
        head_address = address;
        status = head->AddLocalNode(plan.node);
      }
      if (status.ok()) status = cluster::WriteTokenFile(plan.root, address, plan.credentials.token);
      if (status.ok()) status = cluster::WriteLatestCluster(plan.root, address);
      if (status.ok()) serving = head->Run();
      error = std::string(status.message());
    } else {
      address = plan.head_address;
      auto connected = cluster::HeadClient::Connect(address, plan.credentials);
      absl::Status status = connected.status();
      if (pipe2(lost, O_CLOEXEC | O_NONBLOCK) != 0) status = absl::InternalError("pipe");
      if (connected.ok() && status.ok()) {
        link = *std::move(connected);
        cluster::HealthOptions health = cluster::HealthFromEnv();
        status = link->Join(plan.node, {.heartbeat_period = health.period,
                                        .lost_after = health.period * health.failure_threshold,
                                        .store_used = used,
                                        .on_lost = [fd = lost[1]](const std::string& why) {
                                          (void)!write(fd, why.data(), why.size());
                                        }});
      }
      error = std::string(status.message());
    }
    if (error.empty()) {
      serving = serving.exclusiveJoin(service.Run());
      Report(ready_fd, true, HowToUse(plan, address));
      ready_fd = -1;
      kj::UnixEventPort::FdObserver store_end(io.unixEventPort, store->get(),
                                              kj::UnixEventPort::FdObserver::OBSERVE_READ);
      auto stop = io.unixEventPort.onSignal(SIGTERM)
                      .ignoreResult()
                      .exclusiveJoin(io.unixEventPort.onSignal(SIGINT).ignoreResult())
                      .exclusiveJoin(store_end.whenBecomesReadable())
                      .exclusiveJoin(kj::mv(serving));
      std::optional<kj::UnixEventPort::FdObserver> head_lost;
      if (link) {
        head_lost.emplace(io.unixEventPort, lost[0], kj::UnixEventPort::FdObserver::OBSERVE_READ);
        stop = stop.exclusiveJoin(head_lost->whenBecomesReadable());
      }
      stop.wait(io.waitScope);
    }
    link = nullptr;  // no more calls of on_lost
    if (lost[0] >= 0) {
      char why[512];
      ssize_t n = read(lost[0], why, sizeof(why));
      if (n > 0) {
        fprintf(stderr, "ray: the cluster head at %s is gone (%.*s); stopping this node\n",
                address.c_str(), static_cast<int>(n), why);
        head_gone = true;
      }
      close(lost[0]);
      close(lost[1]);
    }
    launcher.Stop();  // the workers end before the store they use
    head = nullptr;
    store_client = nullptr;
    if (store.ok()) store->Signal(SIGTERM);
  }
  if (store_pid > 0) waitpid(store_pid, nullptr, 0);
  if (plan.options.head && !address.empty()) {
    unlink(cluster::TokenFile(plan.root, address).c_str());
    auto latest = cluster::LatestCluster();
    if (latest.ok() && *latest == address) unlink((plan.root + "/latest_cluster").c_str());
  }
  std::error_code ignored;
  std::filesystem::remove_all(plan.folder, ignored);
  if (!error.empty()) {
    Report(ready_fd, false, absl::StrCat("cannot start the node: ", error, "\n"));
    return 1;
  }
  return head_gone ? 1 : 0;
}

}  // namespace

int Start(const StartOptions& options) {
  NodePlan plan{options};
  if (options.head == !options.address.empty()) {
    std::cerr << "ray start: give either --head or --address=HEAD:PORT\n";
    return 2;
  }
  auto root = cluster::UserRoot();
  if (!root.ok()) {
    std::cerr << "ray start: " << root.status().message() << "\n";
    return 1;
  }
  plan.root = *root;
  plan.owner_token = cluster::NewToken();
  std::string token;
  if (options.head) {
    const char* given = std::getenv("RAY_AUTH_TOKEN");
    token = given != nullptr && *given != '\0' ? given : cluster::NewToken();
  } else {
    auto address = cluster::ResolveAddress(options.address);
    auto found = address.ok() ? cluster::FindToken(*address) : address.status();
    if (!found.ok()) {
      std::cerr << "ray start: " << found.status().message() << "\n";
      return 1;
    }
    plan.head_address = *address;
    token = *found;
  }
  if (!options.tls_cert.empty()) {
    // Through the environment, so that the workers this node starts use them too.
    cluster::ExportTlsEnv({.cert = std::filesystem::absolute(options.tls_cert).string(),
                           .key = std::filesystem::absolute(options.tls_key).string(),
                           .ca = std::filesystem::absolute(options.tls_ca).string()});
  }
  auto credentials = cluster::CredentialsFromEnv(token);
  if (!credentials.ok()) {
    std::cerr << "ray start: " << credentials.status().message() << "\n";
    return 1;
  }
  plan.credentials = *std::move(credentials);
  cluster::NodeEntry& node = plan.node;
  node.node_id = cluster::NewNodeId();
  node.address = options.node_ip_address;
  node.num_cpus = options.num_cpus > 0 ? options.num_cpus : std::thread::hardware_concurrency();
  node.resources = options.resources;
  node.object_store_bytes = options.object_store_memory > 0
                                ? options.object_store_memory
                                : core::DefaultStoreMemory(store::MemInfo("MemTotal") * 1024,
                                                           store::MemInfo("MemAvailable") * 1024);
  // The store's socket is in the node's folder: a path too long for a unix socket's address is
  // refused before anything starts.
  const std::string socket = StoreSocketPath(NodeFolderPath(plan.root, node.node_id));
  if (socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
    std::cerr << "ray start: the node's store socket would be " << socket << " (" << socket.size()
              << " bytes), but a unix socket's path takes at most "
              << sizeof(sockaddr_un{}.sun_path) - 1
              << " bytes: set TMPDIR to a shorter folder (the node's folder goes under it)\n";
    return 1;
  }
  auto folder = MakeNodeFolder(plan.root, node.node_id);
  if (!folder.ok()) {
    std::cerr << "ray start: " << folder.status().message() << "\n";
    return 1;
  }
  plan.folder = *folder;
  if (options.block) return RunNode(std::move(plan), -1);

  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return 1;
  std::cout << std::flush;
  pid_t daemon = fork();
  if (daemon == 0) {
    close(ready[0]);
    setsid();  // not in the terminal's process group: Ctrl-C there does not reach it
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    int log =
        open((plan.folder + "/node.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    dup2(null, STDIN_FILENO);
    dup2(log >= 0 ? log : null, STDOUT_FILENO);
    dup2(log >= 0 ? log : null, STDERR_FILENO);
    _exit(RunNode(std::move(plan), ready[1]));
  }
  close(ready[1]);
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = read(ready[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) answer.append(buf, n);
  }
  close(ready[0]);
  if (answer.rfind("ok ", 0) == 0) {
    std::cout << answer.substr(3) << std::flush;
    return 0;
  }
  std::cerr << "ray start: "
            << (answer.rfind("error ", 0) == 0 ? answer.substr(6) : "the node ended at start\n");
  return 1;
}

}  // namespace ray::cli
