// Which transfer asks for its next chunk, no I/O: the puller's flow control. Transfers with
// chunks left to ask for wait here by priority; a chunk may go out while the bytes in flight
// (asked for, not yet written to the store) leave room for one more, or when nothing is in
// flight. The most urgent priority goes first; transfers of one priority take turns.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <tuple>

#include "absl/container/flat_hash_map.h"

namespace ray::object_manager {

class PullQueue {
 public:
  // `chunk_bytes` is what one read asks for at most.
  PullQueue(uint64_t chunk_bytes, uint64_t max_bytes_in_flight)
      : chunk_bytes_(chunk_bytes), max_bytes_in_flight_(max_bytes_in_flight) {}

  // Queues `transfer` (which has chunks to ask for) at `priority` (lower goes first). If it is
  // queued already, it moves up to `priority` if that is more urgent.
  void Add(uint64_t transfer, int priority);
  // Takes `transfer` out (it asked for its last chunk, or it ended).
  void Remove(uint64_t transfer);
  bool Contains(uint64_t transfer) const { return entries_.contains(transfer); }

  // The transfer that may ask for a chunk now, if the budget allows one; it goes behind the
  // others of its priority. The caller then Charges the bytes it asks for.
  std::optional<uint64_t> Next();
  void Charge(uint64_t bytes) {
    in_flight_ += bytes;
    if (in_flight_ > peak_) peak_ = in_flight_;
  }
  // Bytes that arrived (or were given up on).
  void Release(uint64_t bytes) { in_flight_ -= bytes; }
  uint64_t in_flight() const { return in_flight_; }
  uint64_t peak() const { return peak_; }  // the most in flight at once so far

 private:
  using Key = std::tuple<int, uint64_t, uint64_t>;  // priority, turn, transfer

  const uint64_t chunk_bytes_;
  const uint64_t max_bytes_in_flight_;
  uint64_t in_flight_ = 0;
  uint64_t peak_ = 0;
  uint64_t turns_ = 0;
  std::set<Key> order_;
  absl::flat_hash_map<uint64_t, Key> entries_;
};

}  // namespace ray::object_manager
