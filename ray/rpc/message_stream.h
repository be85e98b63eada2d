// Cap'n Proto messages, in the library's standard stream framing, over a non-blocking socket:
// outgoing messages are buffered and written as the socket takes them; incoming bytes are
// collected until a message is complete. Malformed input, or a frame that declares more than
// the stream's limit, is an error, after which the owner closes the connection. Not
// thread-safe.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "ray/faults/fault_injection.h"

namespace ray::core {

// A received message that owns its bytes.
class ReceivedMessage {
 public:
  // `max_bytes` bounds what reading it may traverse.
  ReceivedMessage(kj::Array<capnp::word> words, size_t max_bytes);
  template <typename T>
  typename T::Reader Root() {
    return reader_.getRoot<T>();
  }

 private:
  kj::Array<capnp::word> words_;
  capnp::FlatArrayMessageReader reader_;
};

class MessageStream {
 public:
  // Takes ownership of `fd` and makes it non-blocking. A frame from the peer that declares more
  // than `max_message_bytes` is refused.
  MessageStream(int fd, size_t max_message_bytes);
  ~MessageStream();
  MessageStream(const MessageStream&) = delete;
  MessageStream& operator=(const MessageStream&) = delete;

  int fd() const { return fd_; }

  // Appends a message to the send buffer. `fault` (armed by a test, see fault_injection.h) sends
  // a broken frame instead: kGarbage, kTruncate, kBogusLength, kOversize (the peer's limit taken
  // to be this stream's), or kStall (nothing more is sent on this stream). Others are ignored.
  void Queue(capnp::MessageBuilder& message, faults::Action fault = faults::Action::kNone);
  bool HasPendingWrites() const { return write_offset_ < out_.size(); }
  // Writes what the socket takes without blocking. Errors if the peer is gone.
  absl::Status Flush();
  // Writes everything, waiting for the socket as needed.
  absl::Status FlushBlocking();

  // Reads what is available without blocking and calls `handle` for each complete message.
  // Errors on end of stream (Unavailable) or malformed input (DataLoss).
  absl::Status ReadAvailable(absl::FunctionRef<void(std::unique_ptr<ReceivedMessage>)> handle);
  // Waits up to `timeout` for at least one complete message, then as ReadAvailable: for the
  // first `spin`, by polling the socket without sleeping (a reply due within microseconds then
  // costs no wake-up), then asleep. DeadlineExceeded if none came.
  absl::Status ReadBlocking(absl::Duration timeout,
                            absl::FunctionRef<void(std::unique_ptr<ReceivedMessage>)> handle,
                            absl::Duration spin = absl::ZeroDuration());

 private:
  // Hands out every complete message in the buffer.
  absl::Status Extract(absl::FunctionRef<void(std::unique_ptr<ReceivedMessage>)> handle,
                       bool* got_one);

  // A test's broken frame in place of `frame` (see Queue).
  void QueueFault(faults::Action fault, std::string_view frame);

  int fd_;
  size_t max_message_bytes_;
  bool silenced_ = false;  // a test stalled the sending side
  std::string out_;
  size_t write_offset_ = 0;
  kj::Array<capnp::word> in_;
  size_t in_bytes_ = 0;
};

// For senders that split a batch over several messages: starting at `begin`, how far the items
// of [begin, end) fit in `budget` bytes, which their sizes use up. The item that crosses the
// budget is taken too (so a message holds at most budget plus one item), and none is taken once
// the budget is spent.
template <typename SizeOf>
size_t TakeWithin(size_t begin, size_t end, size_t& budget, SizeOf size_of) {
  size_t i = begin;
  for (; i < end && budget > 0; ++i) budget -= std::min<size_t>(budget, size_of(i));
  return i;
}

}  // namespace ray::core
