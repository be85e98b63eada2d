// A task that crashes its worker every time: the driver's stderr (which the workers share) shows
// one symbolized stack, and one line for each retry (ray/node/crash_report.h).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "ray/api.h"

namespace {

int* volatile null_pointer = nullptr;  // the compiler cannot know it is null

[[gnu::noinline]] int CrashInTask(int x) {
  *null_pointer = x;  // SIGSEGV
  return x;
}

// Crashes the first time (a marker file remembers), returns x when retried.
int CrashOnce(std::string marker, int x) {
  if (!std::ifstream(marker).good()) {
    std::ofstream(marker) << "crashed";
    *null_pointer = x;  // SIGSEGV
  }
  return x;
}

// An actor whose method crashes its process.
struct Crasher {
  int Crash(int x) { return CrashInTask(x); }
};
Crasher* MakeCrasher() { return new Crasher; }

// The text the workers write to stderr while `run` runs (from ray::Init to ray::Shutdown).
template <typename F>
std::string WorkersStderr(F run) {
  const std::string path = testing::TempDir() + "/crash_report_test_stderr.txt";
  int file = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  EXPECT_GE(file, 0);
  int saved = dup(STDERR_FILENO);
  dup2(file, STDERR_FILENO);  // the zygote, forked by ray::Init, and its workers inherit it
  close(file);
  run();
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

TEST(CrashReportTest, ACrashingTaskPrintsOneSymbolizedStackAndALinePerRetry) {
  std::string out = WorkersStderr([] {
    ray::Init({.num_workers = 1});
    auto result = ray::Remote(CrashInTask).Options({.max_retries = 2})(1);
    EXPECT_THROW(result.Get(), ray::WorkerCrashedError);  // after three crashes
    ray::Shutdown();                                      // waits for the workers
  });
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  int stacks = 0, frames = 0, frames_naming_the_function = 0;
  int first_crashes = 0, repeated_crashes = 0;
  std::vector<std::string> notes;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (absl::StrContains(line, "crashed with SIGSEGV in task")) {
      ++first_crashes;
      stacks += absl::EndsWith(line, "; stack:");
    }
    if (absl::StrContains(line, "crashed again with SIGSEGV in task")) {
      ++repeated_crashes;
      notes.push_back(line.substr(line.find("first crash above; ") + 19));
    }
    if (absl::StartsWith(line, "    @ ")) {
      ++frames;
      frames_naming_the_function += absl::StrContains(line, "CrashInTask");
      EXPECT_TRUE(i > 0 && (absl::StartsWith(lines[i - 1], "    @ ") ||
                            absl::EndsWith(lines[i - 1], "; stack:")))
          << "a frame outside the one stack:\n"
          << out;
    }
    if (absl::StartsWith(line, "*** the task")) notes.insert(notes.begin(), line.substr(4));
  }
  EXPECT_EQ(first_crashes, 1) << out;
  EXPECT_EQ(stacks, 1) << out;
  EXPECT_EQ(frames_naming_the_function, 1) << out;
  EXPECT_LT(frames, 64) << out;
  EXPECT_EQ(repeated_crashes, 2) << out;
  EXPECT_EQ(notes, (std::vector<std::string>{
                       "the task will be retried (2 retries left)",
                       "the task will be retried (1 retry left)",
                       "no retries left: the task fails with ray::WorkerCrashedError",
                   }))
      << out;
}

TEST(CrashReportTest, RetriesWithoutLimitSaySo) {
  const std::string marker = testing::TempDir() + "/crash_report_test_marker";
  std::remove(marker.c_str());
  std::string out = WorkersStderr([&] {
    ray::Init({.num_workers = 1});
    EXPECT_EQ(ray::Remote(CrashOnce).Options({.max_retries = -1})(marker, 5).Get(), 5);
    ray::Shutdown();
  });
  EXPECT_TRUE(absl::StrContains(out, "the task will be retried (max_retries = -1: no limit)"))
      << out;
  std::remove(marker.c_str());
}

TEST(CrashReportTest, AnActorsCallSaysItsActorDecides) {
  // Before, it said "no retries left: the task fails with ray::WorkerCrashedError" (a call's
  // own max_retries is 0), while the actor restarted and reran the call.
  std::string out = WorkersStderr([] {
    ray::Init({.num_workers = 1});
    auto crasher = ray::Actor(MakeCrasher).Remote();
    EXPECT_THROW(crasher.Task(&Crasher::Crash).Remote(1).Get(), ray::ActorDiedError);
    ray::Shutdown();
  });
  EXPECT_TRUE(absl::StrContains(out, "the actor restarts and the call runs again if its "
                                     "max_restarts and max_task_retries allow"))
      << out;
  EXPECT_FALSE(absl::StrContains(out, "no retries left")) << out;
}

}  // namespace
