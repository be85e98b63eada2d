// The store client's connection (internal to ray/store/client.cc): the store's memory as
// this process maps it, and the I/O thread that owns the RPC session and sends batched puts,
// seals and releases.
#pragma once

#include <kj/async-io.h>
#include <kj/async-unix.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "ray/store/client.h"
#include "ray/store/object_index.h"
#include "ray/store/shared_memory.h"
#include "ray/store/store.capnp.h"

namespace ray::store {

// The store's memory as mapped here; shared by the client and the buffers it handed out, so
// a buffer stays valid even after its client is gone.
struct ClientMapping {
  SharedMemory arena;
  SharedMemory index_memory;
  SharedMemory pin_memory;
  std::optional<ObjectIndex> index;
  std::weak_ptr<StoreClient::Impl> client;

  std::atomic<uint32_t>* pins() const {
    return reinterpret_cast<std::atomic<uint32_t>*>(pin_memory.data());
  }
  void Unpin(uint32_t record);
};

// An RPC failure as the client reports it (Unavailable).
absl::Status Unavailable(const kj::Exception& e);
// Connects to the store's socket by `deadline`; the connected descriptor.
absl::StatusOr<int> ConnectUnixSocket(const std::string& path, absl::Time deadline);

// The connection: a thread running a KJ event loop that owns the RPC session. Other threads
// reach it through its executor, or (for batched operations) through a queue and an eventfd.
struct StoreClient::Impl : public kj::TaskSet::ErrorHandler {
  ~Impl() {
    if (thread.joinable()) {
      {
        absl::MutexLock lock(&mu);
        stopping = true;
      }
      Wake();
      thread.join();
    }
    if (wake_fd >= 0) close(wake_fd);
  }

  void taskFailed(kj::Exception&& e) override { RecordError(Unavailable(e)); }

  // Runs on the I/O thread for the client's lifetime.
  void Run(int socket_fd, std::promise<absl::Status> started);
  void RunLoop(int socket_fd, std::promise<absl::Status> started);
  kj::Promise<void> WatchQueue(kj::UnixEventPort::FdObserver& observer);
  // I/O thread: sends everything queued, in one message.
  void SendBatch();
  template <typename Func>
  auto OnIoThread(Func&& func) {
    return executor->executeSync([&] {
      SendBatch();
      return func();
    });
  }

  void Wake() {
    uint64_t one = 1;
    (void)!write(wake_fd, &one, sizeof(one));
  }
  void RecordError(absl::Status status) {
    absl::MutexLock lock(&mu);
    if (first_error.ok()) first_error = std::move(status);
  }
  void Enqueue(absl::FunctionRef<void()> add, size_t bytes);

  std::shared_ptr<ClientMapping> mapping;
  std::string name;
  std::string owner_token;
  absl::Time connect_deadline;
  uint64_t capacity = 0;
  std::thread thread;
  kj::Own<const kj::Executor> executor;
  int wake_fd = -1;
  // I/O thread only:
  kj::Maybe<rpc::Session::Client> session;
  kj::Own<kj::TaskSet> tasks;

  absl::Mutex mu;
  struct QueuedPut {
    ObjectID id;
    size_t offset;
    size_t size;
    bool evictable;
  };
  std::string put_bytes ABSL_GUARDED_BY(mu);
  std::vector<QueuedPut> puts ABSL_GUARDED_BY(mu);
  std::vector<ObjectID> seals ABSL_GUARDED_BY(mu);
  std::vector<uint32_t> released ABSL_GUARDED_BY(mu);
  uint64_t ops_queued ABSL_GUARDED_BY(mu) = 0;
  uint64_t ops_done ABSL_GUARDED_BY(mu) = 0;
  size_t bytes_in_flight ABSL_GUARDED_BY(mu) = 0;
  bool wake_pending ABSL_GUARDED_BY(mu) = false;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  bool io_stopped ABSL_GUARDED_BY(mu) = false;  // the I/O thread has ended: nothing more is sent
  absl::Status first_error ABSL_GUARDED_BY(mu);
};

}  // namespace ray::store
