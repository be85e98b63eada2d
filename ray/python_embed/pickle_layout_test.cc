#include "ray/python_embed/pickle_layout.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace ray::python {
namespace {

std::vector<uint8_t> Build(size_t stream_size, std::vector<size_t> buffer_sizes) {
  PickleLayout layout = PlanPickle(stream_size, buffer_sizes);
  std::vector<uint8_t> payload(layout.payload_size, 0xee);
  WritePickleTable(layout, payload);
  std::memset(payload.data() + layout.stream.offset, 's', layout.stream.size);
  for (const Extent& b : layout.buffers) std::memset(payload.data() + b.offset, 'b', b.size);
  return payload;
}

TEST(PickleLayoutTest, StreamOnlyIsTableThenStream) {
  PickleLayout layout = PlanPickle(10, {});
  EXPECT_EQ(layout.stream.offset, 16u);
  EXPECT_EQ(layout.payload_size, 26u);
  auto read = ReadPickleLayout(Build(10, {}));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->stream.size, 10u);
  EXPECT_TRUE(read->buffers.empty());
}

TEST(PickleLayoutTest, BuffersAre64ByteAlignedAndRoundTrip) {
  std::vector<uint8_t> payload = Build(100, {1, 0, 1000, 64});
  auto read = ReadPickleLayout(payload);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->buffers.size(), 4u);
  size_t end = read->stream.offset + read->stream.size;
  for (const Extent& b : read->buffers) {
    EXPECT_EQ(b.offset % 64, 0u);
    EXPECT_GE(b.offset, end);
    EXPECT_LT(b.offset - end, 64u);
    for (size_t i = end; i < b.offset; ++i) EXPECT_EQ(payload[i], 0) << "padding at " << i;
    end = b.offset + b.size;
  }
  EXPECT_EQ(read->buffers[2].size, 1000u);
  EXPECT_EQ(payload[read->buffers[2].offset], 'b');
  EXPECT_EQ(end, payload.size());
}

TEST(PickleLayoutTest, GarbageIsDataLossNeverACrash) {
  std::vector<uint8_t> good = Build(50, {300, 7});
  EXPECT_FALSE(ReadPickleLayout({}).ok());
  for (size_t cut = 0; cut < good.size(); ++cut) {
    auto read = ReadPickleLayout(std::span(good).first(cut));
    EXPECT_FALSE(read.ok()) << "truncated to " << cut;
    if (!read.ok()) EXPECT_TRUE(absl::IsDataLoss(read.status()));
  }
  std::vector<uint8_t> huge_count = good;
  huge_count[3] = 0xff;
  EXPECT_FALSE(ReadPickleLayout(huge_count).ok());
  std::vector<uint8_t> huge_size = good;
  std::memset(huge_size.data() + 16, 0xff, 8);  // first buffer size: 2^64-1
  EXPECT_FALSE(ReadPickleLayout(huge_size).ok());
  std::vector<uint8_t> huge_stream = good;
  std::memset(huge_stream.data() + 8, 0xff, 8);
  EXPECT_FALSE(ReadPickleLayout(huge_stream).ok());
  std::vector<uint8_t> reserved = good;
  reserved[4] = 1;
  EXPECT_FALSE(ReadPickleLayout(reserved).ok());
}

}  // namespace
}  // namespace ray::python
