// A thread that runs a KJ event loop for a component's connections until it is destroyed; other
// threads hand it work through its executor (executeSync, which needs no event loop of theirs).
#pragma once

#include <kj/async-io.h>

#include <functional>
#include <future>
#include <thread>

namespace ray {

class EventLoopThread {
 public:
  // Starts the thread: `on_start(io)` runs on it once its loop is up (what it sets up may keep
  // `io`), `on_stop()` runs on it last, when the destructor stops the loop, while `io` still
  // lives (drop what lives on the loop there, in the order it depends on each other).
  EventLoopThread(std::function<void(kj::AsyncIoContext&)> on_start,
                  std::function<void()> on_stop) {
    std::promise<kj::Own<const kj::Executor>> started;
    auto executor = started.get_future();
    thread_ =
        std::thread([this, &started, on_start = std::move(on_start), on_stop = std::move(on_stop)] {
          auto io = kj::setupAsyncIo();
          auto stop = kj::newPromiseAndFulfiller<void>();
          stop_ = kj::mv(stop.fulfiller);
          on_start(io);
          started.set_value(kj::getCurrentThreadExecutor().addRef());
          stop.promise.wait(io.waitScope);
          on_stop();
        });
    executor_ = executor.get();
  }
  ~EventLoopThread() {
    executor_->executeSync([this] { stop_->fulfill(); });
    thread_.join();
  }
  EventLoopThread(const EventLoopThread&) = delete;
  EventLoopThread& operator=(const EventLoopThread&) = delete;

  const kj::Executor& executor() const { return *executor_; }

 private:
  std::thread thread_;
  kj::Own<const kj::Executor> executor_;
  kj::Own<kj::PromiseFulfiller<void>> stop_;  // the thread's
};

}  // namespace ray
