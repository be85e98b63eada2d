#include "ray/python_embed/pickle_layout.h"

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace ray::python {
namespace {

constexpr size_t kBufferAlignment = kPickleBufferAlignment;
constexpr size_t kFixedTableSize = 16;  // count, zero, stream size

size_t AlignUp(size_t n) { return (n + kBufferAlignment - 1) & ~(kBufferAlignment - 1); }

size_t TableSize(size_t buffer_count) { return kFixedTableSize + 8 * buffer_count; }

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

template <typename T>
void Store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(v));
}

}  // namespace

PickleLayout PlanPickle(size_t stream_size, std::span<const size_t> buffer_sizes) {
  PickleLayout layout;
  layout.stream = {TableSize(buffer_sizes.size()), stream_size};
  size_t end = layout.stream.offset + stream_size;
  layout.buffers.reserve(buffer_sizes.size());
  for (size_t size : buffer_sizes) {
    layout.buffers.push_back({AlignUp(end), size});
    end = layout.buffers.back().offset + size;
  }
  layout.payload_size = end;
  return layout;
}

void WritePickleTable(const PickleLayout& layout, std::span<uint8_t> payload) {
  uint8_t* p = payload.data();
  Store<uint32_t>(p, static_cast<uint32_t>(layout.buffers.size()));
  Store<uint32_t>(p + 4, 0);
  Store<uint64_t>(p + 8, layout.stream.size);
  for (size_t i = 0; i < layout.buffers.size(); ++i) {
    Store<uint64_t>(p + kFixedTableSize + 8 * i, layout.buffers[i].size);
  }
  // Padding between the stream and the buffers.
  size_t end = layout.stream.offset + layout.stream.size;
  for (const Extent& buffer : layout.buffers) {
    std::memset(p + end, 0, buffer.offset - end);
    end = buffer.offset + buffer.size;
  }
}

absl::StatusOr<PickleLayout> ReadPickleLayout(std::span<const uint8_t> payload) {
  auto corrupt = [&](const std::string& why) {
    return absl::DataLossError(
        absl::StrCat("malformed Python object (", payload.size(), " bytes): ", why));
  };
  if (payload.size() < kFixedTableSize) return corrupt("shorter than its table");
  const uint8_t* p = payload.data();
  const uint32_t count = Load<uint32_t>(p);
  if (Load<uint32_t>(p + 4) != 0) return corrupt("reserved field is not zero");
  if (count > (payload.size() - kFixedTableSize) / 8) return corrupt("buffer count too large");
  const uint64_t stream_size = Load<uint64_t>(p + 8);
  std::vector<size_t> sizes(count);
  size_t total = 0;  // cannot overflow before the check below: each size <= payload.size()
  for (uint32_t i = 0; i < count; ++i) {
    uint64_t size = Load<uint64_t>(p + kFixedTableSize + 8 * i);
    if (size > payload.size()) return corrupt("a buffer is larger than the object");
    sizes[i] = size;
    total += size;
    if (total > payload.size()) return corrupt("buffers are larger than the object");
  }
  if (stream_size > payload.size()) return corrupt("the pickle stream is larger than the object");
  PickleLayout layout = PlanPickle(stream_size, sizes);
  if (layout.payload_size != payload.size()) {
    return corrupt(absl::StrCat("the table describes ", layout.payload_size, " bytes"));
  }
  return layout;
}

}  // namespace ray::python
