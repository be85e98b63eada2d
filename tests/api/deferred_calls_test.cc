// Deferred calls (ray/core_worker/call_threads.h) without Python, with real worker processes: a
// C++ actor whose creation says its calls defer takes each call in its method and finishes it
// later from a thread of its own. Calls stay open until finished (a meeting that only `n` open
// calls can make), max_concurrency bounds how many are open and the rest start in order as room
// comes, a method that does not defer ends as usual, and a call dropped unfinished fails (and
// gives its room to the next, wherever it is dropped).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ray/api.h"
#include "ray/api/internal/remote_call.h"
#include "ray/core_worker/call_threads.h"

namespace {

using ray::core::DeferredCall;

// Holds its calls open until `parties` are, then finishes them all (each with twice its
// argument) from a thread of its own.
class Meeting {
 public:
  explicit Meeting(int parties) : parties_(parties) {}

  int Hold(int i) {
    std::unique_ptr<DeferredCall> call = ray::core::DeferRunningCall();
    if (call == nullptr) return -1;  // not deferred: fails the test
    std::vector<std::pair<std::unique_ptr<DeferredCall>, int>> met;
    {
      std::lock_guard lock(mu_);
      started_.push_back(i);
      open_.emplace_back(std::move(call), i);
      most_unfinished_ = std::max(most_unfinished_, ++unfinished_);
      if (static_cast<int>(open_.size()) == parties_) met = std::exchange(open_, {});
    }
    if (!met.empty()) {
      std::thread([this, met = std::move(met)]() mutable { FinishAll(met); }).detach();
    }
    return 0;  // ignored: the call ends when finished
  }

  // Takes its call and drops it: the call fails.
  int Drop() {
    (void)ray::core::DeferRunningCall();
    return 0;
  }

  // Takes its call and drops it from a thread of its own once a byte comes down the FIFO at
  // `path`: nothing else happens in the worker then.
  int DropWhenTold(std::string path) {
    std::unique_ptr<DeferredCall> call = ray::core::DeferRunningCall();
    std::thread([call = std::move(call), path]() mutable {
      int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      char byte;
      if (fd < 0 || read(fd, &byte, 1) != 1) std::abort();  // the test's calls fail
      close(fd);
      call.reset();
    }).detach();
    return 0;
  }

  // Does not defer: ends when it returns.
  std::vector<int> Started() const {
    std::lock_guard lock(mu_);
    return started_;
  }
  // The most calls taken and not yet finished at once: at most the worker's open calls.
  int MostUnfinished() const {
    std::lock_guard lock(mu_);
    return most_unfinished_;
  }

 private:
  void FinishAll(std::vector<std::pair<std::unique_ptr<DeferredCall>, int>>& calls) {
    for (auto& [call, i] : calls) {
      {
        std::lock_guard lock(mu_);
        --unfinished_;  // before the worker may start another in its place
      }
      bool finished = call->Finish([i = i](ray::core::ReturnWriter& returns) {
        ray::internal::WriteReturn(0, 2 * i, returns);
        return absl::OkStatus();
      });
      if (!finished) {  // in the actor's process: the test sees its calls fail
        fprintf(stderr, "a deferred call could not be finished\n");
        std::abort();
      }
    }
    calls.back().first->Flush();
  }

  const int parties_;
  mutable std::mutex mu_;
  std::vector<std::pair<std::unique_ptr<DeferredCall>, int>> open_;
  std::vector<int> started_;
  int unfinished_ = 0;
  int most_unfinished_ = 0;
};

Meeting* MakeMeeting(int parties) {
  // In the actor's process: a creation that throws fails the test's calls.
  if (!ray::core::DeferActorCalls()) throw std::runtime_error("this actor's calls cannot defer");
  return new Meeting(parties);
}

class DeferredCallsTest : public ::testing::Test {
 protected:
  void SetUp() override { ray::Init({.num_workers = 2, .object_store_memory = 64 << 20}); }
  void TearDown() override { ray::Shutdown(); }
};

TEST_F(DeferredCallsTest, CallsStayOpenUntilFinishedElsewhere) {
  auto meeting = ray::Actor(MakeMeeting).Options({.max_concurrency = 100}).Remote(100);
  std::vector<ray::ObjectRef<int>> calls;
  for (int i = 0; i < 100; ++i) calls.push_back(meeting.Task(&Meeting::Hold).Remote(i));
  std::vector<int> results = ray::Get(calls);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(results[i], 2 * i);
  EXPECT_EQ(meeting.Task(&Meeting::MostUnfinished).Remote().Get(), 100);
}

TEST_F(DeferredCallsTest, MaxConcurrencyBoundsOpenCallsAndTheOthersStartInOrder) {
  auto meeting = ray::Actor(MakeMeeting).Options({.max_concurrency = 4}).Remote(4);
  std::vector<ray::ObjectRef<int>> calls;
  std::vector<int> expected, order;
  for (int i = 0; i < 40; ++i) {
    calls.push_back(meeting.Task(&Meeting::Hold).Remote(i));
    expected.push_back(2 * i);
    order.push_back(i);
  }
  EXPECT_EQ(ray::Get(calls), expected);  // ten meetings of four
  EXPECT_EQ(meeting.Task(&Meeting::MostUnfinished).Remote().Get(), 4);
  EXPECT_EQ(meeting.Task(&Meeting::Started).Remote().Get(), order);
}

TEST_F(DeferredCallsTest, ACallDroppedUnfinishedFailsAndTheActorLivesOn) {
  auto meeting = ray::Actor(MakeMeeting).Options({.max_concurrency = 2}).Remote(1);
  EXPECT_THROW(meeting.Task(&Meeting::Drop).Remote().Get(), ray::TaskError);
  EXPECT_EQ(meeting.Task(&Meeting::Hold).Remote(21).Get(), 42);
}

TEST_F(DeferredCallsTest, ACallDroppedOnAThreadOfItsOwnGivesItsRoomToTheNext) {
  const std::string fifo =
      std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") + "/drop_now";
  unlink(fifo.c_str());
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto meeting = ray::Actor(MakeMeeting).Options({.max_concurrency = 1}).Remote(1);
  ray::ObjectRef<int> dropped = meeting.Task(&Meeting::DropWhenTold).Remote(fifo);
  ray::ObjectRef<int> next = meeting.Task(&Meeting::Hold).Remote(21);
  // The dropped call holds the one room: the next waits in the worker (a generous look, so that
  // it has surely arrived there before the drop).
  EXPECT_TRUE(ray::Wait(std::vector{next}, 1, absl::Milliseconds(300)).ready.empty());
  int fd = open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "x", 1), 1);
  close(fd);
  EXPECT_THROW(dropped.Get(), ray::TaskError);
  // With no other message to the worker: the drop itself starts the next call.
  EXPECT_EQ(ray::Wait(std::vector{next}, 1, absl::Seconds(60)).ready.size(), 1u);
  EXPECT_EQ(next.Get(), 42);
  unlink(fifo.c_str());
}

}  // namespace
