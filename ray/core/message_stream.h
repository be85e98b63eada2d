// Cap'n Proto messages, in the library's standard stream framing, over a non-blocking socket:
// outgoing messages are buffered and written as the socket takes them; incoming bytes are
// collected until a message is complete. Malformed or oversized input is an error, after
// which the owner closes the connection. Not thread-safe.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ray::core {

// A received message that owns its bytes.
class ReceivedMessage {
 public:
  explicit ReceivedMessage(kj::Array<capnp::word> words);
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
  // Largest message accepted from the peer.
  static constexpr size_t kMaxMessageBytes = 512u << 20;

  explicit MessageStream(int fd);  // takes ownership; makes it non-blocking
  ~MessageStream();
  MessageStream(const MessageStream&) = delete;
  MessageStream& operator=(const MessageStream&) = delete;

  int fd() const { return fd_; }

  // Appends a message to the send buffer.
  void Queue(capnp::MessageBuilder& message);
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

  int fd_;
  std::string out_;
  size_t write_offset_ = 0;
  kj::Array<capnp::word> in_;
  size_t in_bytes_ = 0;
};

}  // namespace ray::core
