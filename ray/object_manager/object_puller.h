// Copies sealed objects from other nodes' object servers (object_server.h) into this node's
// store. Any process with a StoreClient for its node's store may own one: Pull blocks until the
// object is sealed here. Transfers run on the puller's own thread (its KJ event loop), which
// keeps one connection per source address and a bounded number of bytes in flight over all
// transfers, handing the budget to the highest-priority pulls first.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ray/cluster/cluster_stream.h"
#include "ray/common/id.h"
#include "ray/object_manager/object_source.h"
#include "ray/store/client.h"
#include "ray/store/object_options.h"

namespace ray::object_manager {

// Why an object is wanted, most urgent first: a Get blocks a caller, a Wait may return early
// without it, a task's argument lets a queued task start.
enum class PullPriority { kGet = 0, kWait = 1, kTaskArgument = 2 };

struct ObjectPullerOptions {
  cluster::Credentials credentials;  // presented on every connection
  // Bytes asked for in one read (at most rpc::transfer::MAX_READ_BYTES).
  uint32_t chunk_bytes = 4 << 20;
  // Bytes asked for and not yet written into the store, over all transfers: what the puller
  // buffers at most (one chunk more when a single chunk is larger).
  uint64_t max_bytes_in_flight = 64 << 20;
  // A source that cannot be reached (connected, TLS and the token accepted) within this fails.
  absl::Duration connect_timeout = absl::Seconds(5);
  // How the copies are kept in the local store.
  store::ObjectOptions object_options;
};

struct ObjectPullerStats {
  uint64_t transfers = 0;             // started (a Pull that joined one in progress adds none)
  uint64_t bytes_received = 0;        // written into the store
  uint64_t connections = 0;           // opened to sources
  uint64_t peak_bytes_in_flight = 0;  // the most asked for and not yet written, at once
  uint64_t copy_nanoseconds = 0;      // spent copying received chunks into the store
};

class ObjectPuller {
 public:
  // `store` must outlive the puller; it is used from the puller's thread too.
  ObjectPuller(store::StoreClient& store, ObjectPullerOptions options);
  // Stops every transfer (their Pulls return Cancelled, their objects are aborted) and closes
  // the connections.
  ~ObjectPuller();
  ObjectPuller(const ObjectPuller&) = delete;
  ObjectPuller& operator=(const ObjectPuller&) = delete;

  // Copies object `id` from the object server at `source_address` (HOST:PORT) into the local
  // store and returns once it is sealed there. OK at once if the store has it already; if
  // another client of the store is creating it, waits for that one. Concurrent Pulls of one ID
  // share one transfer (from the source the first one named); a transfer nobody waits for any
  // more is stopped. Thread-safe.
  //
  // Errors: NotFound (the source does not have it sealed), Unavailable naming the source (it
  // cannot be reached or the connection broke; nothing of the object stays in the local store),
  // PermissionDenied (the source refused the token or TLS), DeadlineExceeded, the store's errors on
  // creating the object (ResourceExhausted: full), Cancelled (the puller is being destroyed).
  absl::Status Pull(const ObjectID& id, const std::string& source_address, PullPriority priority,
                    absl::Time deadline = absl::InfiniteFuture());

  // Pull of each of `objects`, their transfers side by side (a multi-object Get, a task's
  // arguments): returns once each is sealed here or failed, with Pull's status for each.
  std::vector<absl::Status> PullAll(std::span<const ObjectSource> objects, PullPriority priority,
                                    absl::Time deadline = absl::InfiniteFuture());

  ObjectPullerStats stats() const;

  struct Loop;  // object_puller.cc

 private:
  store::StoreClient& store_;
  std::unique_ptr<Loop> loop_;
};

}  // namespace ray::object_manager
