// Code shipping against a real head (`ray start --head`) over TCP: this test binary uploads its
// own program (its executable and the libraries Bazel linked it with from `_solib_*`), fetches
// it into a cache and runs the copy; a program that deleted its own file ships too. This binary
// has its own main: run with RAY_SHIP_TEST_PRINT=1 it prints the modules it loaded instead of
// testing (what its fetched copy is run with), with RAY_SHIP_TEST_FETCH it fetches a program,
// with RAY_SHIP_TEST_HALF_UPLOAD it sends part of its executable and waits to be killed.
#include <capnp/rpc-twoparty.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_split.h"
#include "ray/cluster/handshake.h"
#include "ray/cluster/head_client.h"
#include "ray/cluster/local_files.h"
#include "ray/cluster/program_image.h"
#include "ray/function/function_id.h"
#include "ray/rpc/cluster.capnp.h"
#include "tests/cluster/ray_cli.h"

namespace ray::testing {
namespace {

std::string BuildIdOf(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  auto build_id = ElfFileBuildId(fd);
  close(fd);
  return build_id.ok() ? *build_id : "";
}

// Starts this binary with `variable`=`value`; its stdout is read from `*out`.
pid_t StartSelf(const char* variable, const std::string& value, int* out) {
  int pipe[2];
  if (pipe2(pipe, O_CLOEXEC) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipe[1], STDOUT_FILENO);
    setenv(variable, value.c_str(), 1);
    execl("/proc/self/exe", "program_ship_test", nullptr);
    _exit(127);
  }
  close(pipe[1]);
  *out = pipe[0];
  return pid;
}

class ProgramShipTest : public RayCliTest {
 protected:
  void SetUp() override {
    RayCliTest::SetUp();
    head_ = Start({"--head", "--port=0", "--num-cpus=1"});
    auto token = cluster::FindToken(address_);
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = *token;
    auto client = cluster::HeadClient::Connect(address_, {.token = token_});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    auto image = cluster::CurrentProgram();
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = *std::move(image);
  }

  std::string Log() { return NodeLog(head_); }

  StartedNode head_;
  std::string token_;
  std::unique_ptr<cluster::HeadClient> client_;
  cluster::ProgramImage image_;
};

TEST_F(ProgramShipTest, ItsOwnProgramIsDescribedWithItsBazelLibraries) {
  EXPECT_EQ(image_.executable.key, MainExecutableBuildId());
  EXPECT_EQ(image_.executable.size, ReadFile("/proc/self/exe").size());
  EXPECT_TRUE(image_.key.starts_with(image_.executable.key + ".")) << image_.key;
  bool head_client = false;
  for (const cluster::ProgramFile& library : image_.libraries) {
    EXPECT_FALSE(library.path.starts_with("/usr/lib/")) << library.path;
    EXPECT_NE(library.name.find(".so"), std::string::npos) << library.name;
    head_client |= library.name.find("head_Uclient") != std::string::npos;
  }
  EXPECT_TRUE(head_client) << "the test's own libray libraries (from _solib) are not shipped";
  for (const cluster::ProgramFile& library : image_.libraries) {
    printf("ships %s (%s, %llu bytes)\n", library.name.c_str(), library.key.c_str(),
           static_cast<unsigned long long>(library.size));
  }
}

TEST_F(ProgramShipTest, ItsOwnProgramIsFetchedAndItsCopyRunsWithTheShippedLibraries) {
  ASSERT_TRUE(client_->UploadProgram(image_).ok());
  std::string cache = tmp_ + "/cache";
  auto local = client_->FetchProgram(image_.key, cache);
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(BuildIdOf(local->executable), BuildIdOf("/proc/self/exe"));
  EXPECT_EQ(ReadFile(local->executable), ReadFile("/proc/self/exe"));
  EXPECT_EQ(std::filesystem::status(cache).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  EXPECT_EQ(std::filesystem::status(local->executable).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_all);
  for (const cluster::ProgramFile& library : image_.libraries) {
    EXPECT_EQ(ReadFile(local->library_dir + "/" + library.name), ReadFile(library.path))
        << library.name;
  }
  RunResult run = RunProgram(
      {local->executable}, {{"RAY_SHIP_TEST_PRINT", "1"}, {"LD_LIBRARY_PATH", local->library_dir}});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("the shipped test runs"), std::string::npos) << run.output;
  // Its libray libraries were loaded from the library folder, not from Bazel's.
  EXPECT_NE(run.output.find("loaded " + local->library_dir + "/"), std::string::npos) << run.output;
}

TEST_F(ProgramShipTest, AnUploadTheHeadHasIsRecordedOnce) {
  ASSERT_TRUE(client_->UploadProgram(image_).ok());
  ASSERT_TRUE(client_->UploadProgram(image_).ok());  // one putProgram: the head has every file
  std::string log = Log();
  size_t first = log.find("program " + image_.key + " is shipped");
  EXPECT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find("program " + image_.key + " is shipped", first + 1), std::string::npos);
}

TEST_F(ProgramShipTest, ASecondFetchIsServedFromTheCacheWithoutTheHead) {
  ASSERT_TRUE(client_->UploadProgram(image_).ok());
  std::string cache = tmp_ + "/cache";
  auto first = client_->FetchProgram(image_.key, cache);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(RunRay({"stop", "--force"}).exit_code, 0);
  auto second = client_->FetchProgram(image_.key, cache);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->executable, first->executable);
  EXPECT_EQ(second->library_dir, first->library_dir);
  // Elsewhere, with the head gone, there is nothing to fetch from.
  auto elsewhere = client_->FetchProgram(image_.key, tmp_ + "/other-cache");
  EXPECT_TRUE(absl::IsUnavailable(elsewhere.status())) << elsewhere.status();
}

TEST_F(ProgramShipTest, ConcurrentFetchesIntoOneCacheAgree) {
  ASSERT_TRUE(client_->UploadProgram(image_).ok());
  std::string cache = tmp_ + "/cache";
  std::vector<pid_t> pids;
  std::vector<int> outputs;
  for (int i = 0; i < 3; ++i) {
    int out;
    pids.push_back(StartSelf("RAY_SHIP_TEST_FETCH",
                             absl::StrCat(address_, " ", token_, " ", image_.key, " ", cache),
                             &out));
    outputs.push_back(out);
  }
  for (size_t i = 0; i < pids.size(); ++i) {
    std::string output;
    char buf[4096];
    ssize_t n;
    while ((n = read(outputs[i], buf, sizeof(buf))) > 0) output.append(buf, n);
    close(outputs[i]);
    int status;
    waitpid(pids[i], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
    EXPECT_NE(output.find("fetched " + cache + "/programs/" + image_.key + "/bin/"),
              std::string::npos)
        << output;
  }
  auto local = client_->FetchProgram(image_.key, cache);
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(ReadFile(local->executable), ReadFile("/proc/self/exe"));
  // No temporary file or folder is left behind.
  for (const char* sub : {"/files", "/programs"}) {
    for (const auto& entry : std::filesystem::directory_iterator(cache + sub)) {
      EXPECT_NE(entry.path().filename().string()[0], '.') << entry.path();
    }
  }
}

TEST_F(ProgramShipTest, AFileUnderAWrongKeyIsRefusedAndTheHeadKeepsServing) {
  cluster::ProgramImage wrong = image_;
  wrong.executable.key = "0123456789abcdef0123456789abcdef01234567";  // not its build-id
  wrong.key = cluster::ProgramKey(wrong.executable, wrong.libraries);
  absl::Status refused = client_->UploadProgram(wrong);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_NE(refused.message().find("build-id " + image_.executable.key), std::string::npos)
      << refused;
  wrong = image_;
  wrong.executable.name = "../escape";
  wrong.key = cluster::ProgramKey(wrong.executable, wrong.libraries);
  EXPECT_TRUE(absl::IsFailedPrecondition(client_->UploadProgram(wrong)));
  wrong = image_;
  wrong.key = image_.executable.key + ".0000000000000000";  // not the files' program key
  EXPECT_TRUE(absl::IsFailedPrecondition(client_->UploadProgram(wrong)));
  EXPECT_NE(Log().find("refused a program file"), std::string::npos) << Log();

  // Nothing of those is served, and the head still takes the right one.
  std::string cache = tmp_ + "/cache";
  auto missing = client_->FetchProgram(wrong.key, cache);
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  EXPECT_FALSE(std::filesystem::exists(cache + "/files/0123456789abcdef0123456789abcdef01234567"));
  ASSERT_TRUE(client_->UploadProgram(image_).ok());
  auto local = client_->FetchProgram(image_.key, cache);
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(BuildIdOf(local->executable), image_.executable.key);
  auto nodes = client_->Nodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status();
}

TEST_F(ProgramShipTest, AProgramThatDeletedItsOwnFileShipsAndItsCopyRuns) {
  std::string original = "tests/cluster/ship_child";
  std::string copy = tmp_ + "/ship_child";
  std::filesystem::copy_file(original, copy);
  std::filesystem::permissions(copy, std::filesystem::perms::owner_all);
  RunResult run = RunProgram({copy, address_, token_});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_FALSE(std::filesystem::exists(copy));
  std::string key = Find(run.output, "program (\\S+)");
  ASSERT_FALSE(key.empty()) << run.output;
  auto local = client_->FetchProgram(key, tmp_ + "/cache");
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(ReadFile(local->executable), ReadFile(original));
  EXPECT_EQ(BuildIdOf(local->executable), BuildIdOf(original));
  RunResult shipped =
      RunProgram({local->executable, "--print"}, {{"LD_LIBRARY_PATH", local->library_dir}});
  EXPECT_EQ(shipped.exit_code, 0) << shipped.output;
  EXPECT_NE(shipped.output.find("the shipped child runs"), std::string::npos) << shipped.output;
}

TEST_F(ProgramShipTest, AnUploadWhoseClientVanishedLeavesNothing) {
  int out;
  pid_t pid = StartSelf("RAY_SHIP_TEST_HALF_UPLOAD", absl::StrCat(address_, " ", token_), &out);
  std::string said;
  char c;
  while (said.find('\n') == std::string::npos && read(out, &c, 1) == 1) said.push_back(c);
  close(out);
  ASSERT_EQ(said, "half sent\n");
  std::string folder = head_.folder + "/programs";
  auto uploads = [&folder] {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
      count += entry.path().filename().string().starts_with(".upload-");
    }
    return count;
  };
  EXPECT_EQ(uploads(), 1);  // under way, under a name no reader asks for
  std::string stored = folder + "/" + image_.executable.key;
  EXPECT_FALSE(std::filesystem::exists(stored));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (uploads() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));  // a pause between looks, not a timing assert
  }
  EXPECT_EQ(uploads(), 0);
  EXPECT_FALSE(std::filesystem::exists(stored));
  ASSERT_TRUE(client_->UploadProgram(image_).ok());
  EXPECT_EQ(ReadFile(stored), ReadFile("/proc/self/exe"));
}

// Uploads the first 64 KiB of this executable (declared whole) and waits to be killed.
int SendHalfAnUpload(const std::string& address, const std::string& token) {
  auto io = kj::setupAsyncIo();
  auto stream = io.provider->getNetwork()
                    .parseAddress(address)
                    .then([](kj::Own<kj::NetworkAddress> head) {
                      return head->connect().attach(kj::mv(head));
                    })
                    .wait(io.waitScope);
  if (cluster::PresentToken(*stream, token).wait(io.waitScope) != cluster::TokenAnswer::kAccepted)
    return 1;
  capnp::TwoPartyClient connection(*stream);
  auto head = connection.bootstrap().castAs<rpc::cluster::ClusterHead>();
  std::string exe = ReadFile("/proc/self/exe");
  auto begin = head.uploadProgramFileRequest();
  begin.setKey(MainExecutableBuildId());
  begin.setSize(exe.size());
  auto upload = begin.send().wait(io.waitScope).getUpload();
  auto write = upload.writeRequest();
  write.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(exe.data()), 64 << 10));
  write.send().wait(io.waitScope);
  head.nodesRequest().send().wait(io.waitScope);  // answered after the write was taken
  printf("half sent\n");
  fflush(stdout);
  pause();
  return 0;
}

// What this binary does when run by a test rather than by Bazel; -1: run the tests.
int RunForATest() {
  if (getenv("RAY_SHIP_TEST_PRINT") != nullptr) {
    printf("the shipped test runs\n");
    for (const LoadedModule& module : LoadedModules()) printf("loaded %s\n", module.path.c_str());
    return 0;
  }
  if (const char* half = getenv("RAY_SHIP_TEST_HALF_UPLOAD")) {
    std::vector<std::string> args = absl::StrSplit(half, ' ');  // address token
    return args.size() == 2 ? SendHalfAnUpload(args[0], args[1]) : 2;
  }
  if (const char* fetch = getenv("RAY_SHIP_TEST_FETCH")) {
    std::vector<std::string> args = absl::StrSplit(fetch, ' ');  // address token key cache
    if (args.size() != 4) return 2;
    auto client = cluster::HeadClient::Connect(args[0], {.token = args[1]});
    if (!client.ok()) return 1;
    auto local = (*client)->FetchProgram(args[2], args[3]);
    if (!local.ok()) {
      fprintf(stderr, "%s\n", local.status().ToString().c_str());
      return 1;
    }
    printf("fetched %s\n", local->executable.c_str());
    return 0;
  }
  return -1;
}

}  // namespace
}  // namespace ray::testing

int main(int argc, char** argv) {
  if (int code = ray::testing::RunForATest(); code >= 0) return code;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
