// ray::Shutdown while other threads are inside the API: a thread waiting in Get (or Wait) ends
// with ray::RayError "ray was shut down", nothing crashes or hangs, and calls made after it fail
// with a clear error. Bounded: every wait on a thread is limited to a minute.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "ray/api.h"

namespace {

// Returns once a byte arrives on the pipe `fd` (made before Init: workers are forks of the
// driver and have it). The tests never write it: Shutdown ends these tasks.
int block_on(int fd) {
  char byte;
  return static_cast<int>(read(fd, &byte, 1));
}

// What a call ended with: "returned", or its exception's message.
template <typename Call>
std::string Outcome(Call call) {
  try {
    call();
    return "returned";
  } catch (const std::exception& e) {
    return e.what();
  }
}

// The errors a call racing with Shutdown may end with: woken by it, or made after it.
bool ShutDownOrNotInitialized(const std::string& what) {
  return what.find("ray was shut down") != std::string::npos ||
         what.find("after ray::Shutdown") != std::string::npos ||
         what.find("ray::Shutdown since") != std::string::npos;
}

class ShutdownRaceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(pipe(gate_), 0); }
  void TearDown() override {
    ray::Shutdown();
    close(gate_[0]);
    close(gate_[1]);
  }
  int gate_[2];
};

TEST_F(ShutdownRaceTest, ThreadsWaitingInGetAndWaitEndWithAClearError) {
  for (int round = 0; round < 8; ++round) {
    ray::Init({.num_workers = 2});
    auto blocked = ray::Remote(block_on)(gate_[0]);
    std::vector<std::future<std::string>> outcomes;
    std::promise<void> started[3];
    outcomes.push_back(std::async(std::launch::async, [&] {
      started[0].set_value();
      return Outcome([&] { blocked.Get(); });
    }));
    outcomes.push_back(std::async(std::launch::async, [&] {
      started[1].set_value();
      return Outcome([&] { ray::Wait(std::vector{blocked}, 1); });
    }));
    outcomes.push_back(std::async(std::launch::async, [&] {
      started[2].set_value();
      return Outcome([&] {
        for (int i = 0; i < 1000; ++i) ray::Remote(block_on)(gate_[0]);
      });
    }));
    for (auto& s : started) s.get_future().wait();
    // Some rounds shut down at once, others once the threads are well inside their calls.
    std::this_thread::sleep_for(std::chrono::milliseconds(round % 2 == 0 ? 0 : 20));
    ray::Shutdown();
    for (auto& outcome : outcomes) {
      ASSERT_EQ(outcome.wait_for(std::chrono::seconds(60)), std::future_status::ready)
          << "a thread still waits a minute after Shutdown (round " << round << ")";
      std::string what = outcome.get();
      EXPECT_TRUE(ShutDownOrNotInitialized(what) || what == "returned")
          << what << " (round " << round << ")";
    }
    EXPECT_TRUE(ShutDownOrNotInitialized(Outcome([&] { blocked.Get(); })));
  }
}

}  // namespace
