// The payload of a Python value object (ObjectFormat::kPickle, ray/object/object_format.h):
// pickle protocol 5's stream and its out-of-band buffers (numpy arrays' data), laid out so a
// reader can map each buffer in place:
//
//   uint32 buffer count n, uint32 zero, uint64 stream size, n x uint64 buffer size,
//   the stream, then each buffer at the next 64-byte boundary of the payload.
//
// The payload starts 64-byte aligned in the store (the header is 64 bytes), so every buffer
// does too: numpy arrays read back over the store's memory are aligned. Objects small enough to
// travel inline (in messages, the scheduler's memory) are less aligned: the extension copies
// their buffers to aligned memory as it reads them (python_extension.cc). Pure C++ (no Python):
// the extension module (python_extension.cc) plans and writes with it, and checks what it reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace ray::python {

// Where out-of-band buffers start, relative to the payload (and so in the store's memory).
inline constexpr size_t kPickleBufferAlignment = 64;

struct Extent {
  size_t offset = 0;  // from the start of the payload
  size_t size = 0;
};

struct PickleLayout {
  Extent stream;
  std::vector<Extent> buffers;
  size_t payload_size = 0;  // table, stream, padding and buffers
};

// Where a stream of `stream_size` bytes and buffers of `buffer_sizes` go.
PickleLayout PlanPickle(size_t stream_size, std::span<const size_t> buffer_sizes);

// Writes the table of `layout` at the start of `payload` (payload_size bytes); the caller copies
// the stream and buffers to their extents. Padding is zeroed.
void WritePickleTable(const PickleLayout& layout, std::span<uint8_t> payload);

// Reads and checks the table of a payload: every extent lies inside it, in order, aligned.
// DataLoss for anything else (truncated or garbage bytes never read out of bounds).
absl::StatusOr<PickleLayout> ReadPickleLayout(std::span<const uint8_t> payload);

}  // namespace ray::python
