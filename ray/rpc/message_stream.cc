#include "ray/rpc/message_stream.h"

#include <fcntl.h>
#include <kj/exception.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ray::core {
namespace {

capnp::ReaderOptions Options(size_t max_bytes) {
  capnp::ReaderOptions options;
  // The codec (worker_messages.h) reads a message twice, once to check it and once to use it:
  // a limit past that, with room, still bounds what a malicious message makes a reader walk.
  options.traversalLimitInWords = 3 * max_bytes / sizeof(capnp::word);
  options.nestingLimit = 64;
  return options;
}

absl::Status Errno(const char* what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

ReceivedMessage::ReceivedMessage(kj::Array<capnp::word> words, size_t max_bytes)
    : words_(kj::mv(words)), reader_(words_, Options(max_bytes)) {}

MessageStream::MessageStream(int fd, size_t max_message_bytes)
    : fd_(fd), max_message_bytes_(max_message_bytes), in_(kj::heapArray<capnp::word>(8192)) {
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

MessageStream::~MessageStream() { close(fd_); }

void MessageStream::Queue(capnp::MessageBuilder& message, faults::Action fault) {
  if (write_offset_ == out_.size()) {
    out_.clear();
    write_offset_ = 0;
  }
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  std::string_view frame(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
  if (silenced_) return;
  if (fault != faults::Action::kNone) {
    QueueFault(fault, frame);
  } else {
    out_.append(frame);
  }
}

void MessageStream::QueueFault(faults::Action fault, std::string_view frame) {
  // A frame header for one segment of `words` words (the standard framing's segment table).
  auto header = [](uint64_t words) {
    uint32_t table[2] = {0, static_cast<uint32_t>(words)};
    return std::string(reinterpret_cast<const char*>(table), sizeof(table));
  };
  switch (fault) {
    case faults::Action::kGarbage:  // the root pointer is a list pointer: does not decode
      out_ += header(2) + std::string(2 * sizeof(capnp::word), '\xa5');
      break;
    case faults::Action::kTruncate:
      out_.append(frame.substr(0, frame.size() / 2));
      break;
    case faults::Action::kBogusLength:  // well under any limit; what follows is swallowed
      out_ += header((1 << 20) / sizeof(capnp::word)) + std::string(frame);
      break;
    case faults::Action::kOversize:
      out_ += header(max_message_bytes_ / sizeof(capnp::word) + 1) + std::string(frame);
      break;
    case faults::Action::kStall:
      silenced_ = true;
      break;
    default:
      out_.append(frame);
  }
}

absl::Status MessageStream::Flush() {
  while (write_offset_ < out_.size()) {
    ssize_t n = send(fd_, out_.data() + write_offset_, out_.size() - write_offset_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return absl::OkStatus();
      return Errno("write");
    }
    write_offset_ += n;
  }
  out_.clear();
  write_offset_ = 0;
  return absl::OkStatus();
}

absl::Status MessageStream::FlushBlocking() {
  while (true) {
    if (absl::Status status = Flush(); !status.ok()) return status;
    if (!HasPendingWrites()) return absl::OkStatus();
    pollfd p{fd_, POLLOUT, 0};
    poll(&p, 1, -1);
  }
}

absl::Status MessageStream::Extract(
    absl::FunctionRef<void(std::unique_ptr<ReceivedMessage>)> handle, bool* got_one) {
  size_t offset_words = 0;
  while (true) {
    size_t available = in_bytes_ - offset_words * sizeof(capnp::word);
    if (available < sizeof(capnp::word)) break;
    kj::ArrayPtr<const capnp::word> prefix(in_.begin() + offset_words,
                                           available / sizeof(capnp::word));
    size_t needed;
    try {
      needed = capnp::expectedSizeInWordsFromPrefix(prefix);
    } catch (const kj::Exception& e) {
      return absl::DataLossError(absl::StrCat("bad message framing: ", e.getDescription().cStr()));
    }
    if (needed * sizeof(capnp::word) > max_message_bytes_) {
      return absl::DataLossError(absl::StrCat("a frame declares ", needed * sizeof(capnp::word),
                                              " bytes, more than the ", max_message_bytes_,
                                              " a message may take"));
    }
    if (needed > prefix.size()) {
      if (needed > in_.size()) {  // grow so the whole message fits
        auto bigger = kj::heapArray<capnp::word>(std::max(needed, in_.size() * 2));
        std::memcpy(bigger.begin(), in_.begin() + offset_words, available);
        in_ = kj::mv(bigger);
        in_bytes_ = available;
        offset_words = 0;
      }
      break;
    }
    auto words = kj::heapArray<capnp::word>(prefix.slice(0, needed));
    offset_words += needed;
    std::unique_ptr<ReceivedMessage> message;
    try {
      message = std::make_unique<ReceivedMessage>(kj::mv(words), max_message_bytes_);
    } catch (const kj::Exception& e) {
      return absl::DataLossError(absl::StrCat("malformed message: ", e.getDescription().cStr()));
    }
    *got_one = true;
    handle(std::move(message));
  }
  size_t consumed = offset_words * sizeof(capnp::word);
  if (consumed > 0) {
    std::memmove(in_.begin(), reinterpret_cast<uint8_t*>(in_.begin()) + consumed,
                 in_bytes_ - consumed);
    in_bytes_ -= consumed;
  }
  return absl::OkStatus();
}

absl::Status MessageStream::ReadAvailable(
    absl::FunctionRef<void(std::unique_ptr<ReceivedMessage>)> handle) {
  while (true) {
    auto* buffer = reinterpret_cast<uint8_t*>(in_.begin());
    size_t capacity = in_.size() * sizeof(capnp::word);
    if (in_bytes_ == capacity) {
      auto bigger = kj::heapArray<capnp::word>(in_.size() * 2);
      std::memcpy(bigger.begin(), in_.begin(), in_bytes_);
      in_ = kj::mv(bigger);
      continue;
    }
    ssize_t n = read(fd_, buffer + in_bytes_, capacity - in_bytes_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return absl::OkStatus();
      return Errno("read");
    }
    if (n == 0) return absl::UnavailableError("the peer closed the connection");
    in_bytes_ += n;
    bool got_one = false;
    if (absl::Status status = Extract(handle, &got_one); !status.ok()) return status;
  }
}

absl::Status MessageStream::ReadBlocking(
    absl::Duration timeout, absl::FunctionRef<void(std::unique_ptr<ReceivedMessage>)> handle,
    absl::Duration spin) {
  absl::Time now = absl::Now();
  absl::Time deadline =
      timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : now + timeout;
  absl::Time spin_until = std::min(deadline, now + spin);
  bool got_one = false;
  auto note = [&](std::unique_ptr<ReceivedMessage> m) {
    got_one = true;
    handle(std::move(m));
  };
  while (true) {
    if (absl::Status status = ReadAvailable(note); !status.ok()) return status;
    if (got_one) return absl::OkStatus();
    if (absl::Now() < spin_until) continue;
    int wait_ms = -1;
    if (deadline != absl::InfiniteFuture()) {
      absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("no message");
      wait_ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
    }
    pollfd p{fd_, POLLIN, 0};
    poll(&p, 1, wait_ms);
  }
}

}  // namespace ray::core
