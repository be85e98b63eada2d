// Runs the real `ray` binary for a test, in a temp folder of the test's own (TMPDIR), so its
// nodes, tokens and `ray stop` see nothing of other tests. Every node a test starts is stopped
// by `ray stop --force` (by PID) when the fixture ends.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/cluster/run_program.h"

namespace ray::testing {

// Runs `ray args...` to its end (it must end: `ray start` returns once its node serves).
inline RunResult RunRay(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ray/cli/ray"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(std::move(argv));
}

// The first match of `pattern`'s group 1 in `text`, or "".
inline std::string Find(const std::string& text, const std::string& pattern) {
  std::smatch match;
  return std::regex_search(text, match, std::regex(pattern)) ? match[1].str() : "";
}

// A process by pidfd: waits for its end (a generous bound), never by sleeping.
inline bool EndsWithin(pid_t pid, absl::Duration bound) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return true;  // already gone
  pollfd ended{fd, POLLIN, 0};
  bool done = poll(&ended, 1, absl::ToInt64Milliseconds(bound)) == 1;
  close(fd);
  return done;
}

// Waits until `done()` holds, at most `bound`; whether it did.
template <typename Done>
bool Within(absl::Duration bound, Done done) {
  absl::Time deadline = absl::Now() + bound;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));  // a pause between looks, not a timing assert
  }
  return true;
}

// The children of `pid`, whichever of its threads forked them.
inline std::vector<pid_t> Children(pid_t pid) {
  std::vector<pid_t> children;
  std::error_code error;
  for (const auto& task :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"), error)) {
    std::ifstream file(task.path() / "children");
    pid_t child;
    while (file >> child) children.push_back(child);
  }
  return children;
}

// Connects a raw TCP socket to `address` (HOST:PORT) and sends `bytes`; true if the server then
// closes the connection (EOF or reset) having sent nothing, or (given an `answer`) that first
// and then whatever it says on the way out (Cap'n Proto's abort message). Blocks at most 20 s.
inline bool ClosedAfter(const std::string& address, const std::string& bytes,
                        const std::string& answer = "") {
  int port = std::stoi(address.substr(address.rfind(':') + 1));
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, address.substr(0, address.rfind(':')).c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return false;
  }
  timeval bound{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
  if (!bytes.empty()) (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string received;
  char c;
  ssize_t n;
  while ((n = recv(fd, &c, 1, 0)) == 1) received.push_back(c);
  bool closed = (answer.empty() ? received.empty() : received.rfind(answer, 0) == 0) &&
                (n == 0 || (n < 0 && errno == ECONNRESET));
  close(fd);
  return closed;
}

// The token handshake's first bytes (ray/cluster/handshake.h), written out by hand.
inline std::string Preamble(const std::string& token) {
  std::string bytes = "RAYT";
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>(token.size() >> (8 * i)));
  return bytes + token;
}

// A started node: its ID, folder, process and its store's.
struct StartedNode {
  std::string id;
  std::string folder;
  pid_t pid = -1;
  pid_t store_pid = -1;
};

// The whole of a file, "" if it cannot be read.
inline std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// What `node` has logged so far.
inline std::string NodeLog(const StartedNode& node) { return ReadFile(node.folder + "/node.log"); }

// How many of `log`'s lines contain `text`.
inline int LinesWith(const std::string& log, const std::string& text) {
  int count = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    count += line.find(text) != absl::string_view::npos;
  }
  return count;
}

// A process's name (/proc/PID/comm), "" once it is gone.
inline std::string Comm(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/comm"));
  std::string name;
  std::getline(file, name);
  return name;
}

class RayCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Not under TEST_TMPDIR: a unix socket's path must stay short (108 bytes).
    std::string dir = "/tmp/ray-cli-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    tmp_ = dir;
    setenv("TMPDIR", tmp_.c_str(), 1);
    unsetenv("RAY_AUTH_TOKEN");
    unsetenv("RAY_ADDRESS");
    root_ = absl::StrCat(tmp_, "/ray-", getuid());
  }
  void TearDown() override {
    RunRay({"stop", "--force"});
    std::error_code ignored;
    std::filesystem::remove_all(tmp_, ignored);
  }

  // `ray start args...`; fails the test unless it succeeds.
  StartedNode Start(std::vector<std::string> args) {
    args.insert(args.begin(), "start");
    bool memory_given = false;
    for (const std::string& arg : args) memory_given |= arg.starts_with("--object-store-memory");
    if (!memory_given) args.push_back("--object-store-memory=32M");
    RunResult run = RunRay(args);
    EXPECT_EQ(run.exit_code, 0) << run.output;
    StartedNode node;
    node.id = Find(run.output, "node ([0-9a-f]{56})");
    node.folder = Find(run.output, "session folder ([^)]+)\\)");
    std::ifstream pid_file(node.folder + "/node.pid");
    pid_file >> node.pid;
    auto children = Children(node.pid);
    if (children.size() == 1) node.store_pid = children[0];
    EXPECT_GT(node.pid, 0) << run.output;
    EXPECT_GT(node.store_pid, 0) << run.output;
    if (address_.empty()) address_ = Find(run.output, "Cluster address: (\\S+)");
    return node;
  }

  // The cluster as a fixture: the first node added is the head (port 0), the others join it.
  struct NodeSpec {
    double num_cpus = 1;
    std::string resources;  // a JSON object, "" for none
    std::string object_store_memory = "32M";
    std::vector<std::string> flags;  // more `ray start` flags
  };
  StartedNode AddNode(const NodeSpec& spec) {
    std::vector<std::string> args = {address_.empty() ? "--head" : "--address=" + address_};
    if (address_.empty()) args.push_back("--port=0");
    args.push_back(absl::StrCat("--num-cpus=", spec.num_cpus));
    if (!spec.resources.empty()) args.push_back("--resources=" + spec.resources);
    args.push_back("--object-store-memory=" + spec.object_store_memory);
    args.insert(args.end(), spec.flags.begin(), spec.flags.end());
    return Start(args);
  }
  // Stops `node`: SIGTERM (it leaves the cluster, its store and workers end with it) or SIGKILL
  // (it dies as a crashed machine's would); returns once its process has ended.
  enum class Removal { kGraceful, kKill };
  void RemoveNode(const StartedNode& node, Removal how) {
    ASSERT_EQ(kill(node.pid, how == Removal::kKill ? SIGKILL : SIGTERM), 0);
    EXPECT_TRUE(EndsWithin(node.pid, absl::Seconds(30)));
  }

  // `ray status` until `done(output)` holds, at most `bound`.
  template <typename Done>
  std::string StatusUntil(Done done, absl::Duration bound = absl::Seconds(20)) {
    absl::Time deadline = absl::Now() + bound;
    RunResult run;
    while (true) {
      run = RunRay({"status"});
      if (done(run.output) || absl::Now() >= deadline) break;
      absl::SleepFor(absl::Milliseconds(50));  // a pause between tries, not a timing assert
    }
    return run.output;
  }

  std::string tmp_;
  std::string root_;
  std::string address_;
};

}  // namespace ray::testing
