// A 1 GiB object written by one process and read by another without a copy: both map the
// same physical pages, which /proc/self/pagemap shows.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "ray/store/client.h"
#include "tests/store/store_process.h"
#include "tests/store/test_util.h"

namespace ray::store {
namespace {

using ::ray::testing::Channel;
using ::ray::testing::CheckPattern;
using ::ray::testing::ChildProcess;
using ::ray::testing::FillPattern;

constexpr uint64_t kObjectSize = 1ull << 30;
constexpr uint64_t kSeed = 0x5eed;
constexpr int kSamples = 257;

size_t PageSize() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

// The physical frame number behind `addr` in this process, or 0 when the page is not present
// or the kernel hides frame numbers (it does without CAP_SYS_ADMIN).
uint64_t FrameOf(const void* addr) {
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  uint64_t entry = 0;
  off_t at = static_cast<off_t>(reinterpret_cast<uintptr_t>(addr) / PageSize() * 8);
  ssize_t n = pread(fd, &entry, sizeof(entry), at);
  close(fd);
  if (n != sizeof(entry) || (entry >> 63) == 0) return 0;  // bit 63: present
  return entry & ((1ull << 55) - 1);                       // bits 0-54: frame number
}

// Offsets of the sampled pages: spread over the whole object, first and last page included.
std::vector<uint64_t> SampleOffsets() {
  std::vector<uint64_t> offsets;
  uint64_t pages = kObjectSize / PageSize();
  for (int i = 0; i < kSamples; ++i) offsets.push_back(pages * i / (kSamples - 1) * PageSize());
  offsets.back() = kObjectSize - PageSize();
  return offsets;
}

TEST(ZeroCopyTest, OneGibObjectIsSharedNotCopied) {
  {
    auto probe = std::make_unique<volatile uint8_t[]>(PageSize());
    probe[0] = 1;
    if (FrameOf(const_cast<uint8_t*>(&probe[0])) == 0) {
      GTEST_SKIP() << "/proc/self/pagemap shows no frame numbers: this needs CAP_SYS_ADMIN "
                      "(run as root)";
    }
  }
  testing::StoreProcess store({"--capacity=1040M", "--max_objects=64"});
  ASSERT_TRUE(store.ready());
  const ObjectID id = ObjectID::FromRandom();

  // The writer creates, fills and seals the object, then sends the frame numbers of the
  // sampled pages and stays alive (its mapping too) until told to go.
  ChildProcess writer([&](Channel& channel) {
    auto client = StoreClient::Connect(store.socket_path(), {.name = "writer"});
    CHILD_CHECK(client.ok(), client.status());
    auto object = (*client)->Create(id, kObjectSize);
    CHILD_CHECK(object.ok(), object.status());
    FillPattern(kSeed, object->span());
    std::vector<uint64_t> frames;
    for (uint64_t offset : SampleOffsets()) frames.push_back(FrameOf(object->data() + offset));
    absl::Status sealed = (*client)->Seal(*std::move(object));
    CHILD_CHECK(sealed.ok(), sealed);
    sealed = (*client)->Flush();
    CHILD_CHECK(sealed.ok(), sealed);
    CHILD_CHECK(channel.Send(frames.data(), frames.size() * sizeof(uint64_t)));
    CHILD_CHECK(channel.Expect('q', absl::Minutes(5)));
    return 0;
  });

  auto client = StoreClient::Connect(store.socket_path(), {.name = "reader"});
  ASSERT_TRUE(client.ok()) << client.status();
  std::vector<uint64_t> writer_frames(kSamples);
  ASSERT_TRUE(
      writer.channel().Receive(writer_frames.data(), kSamples * sizeof(uint64_t), absl::Minutes(2)))
      << "the writer failed (see its stderr)";

  absl::Time start = absl::Now();
  auto got = (*client)->Get(id, absl::Seconds(60));
  absl::Duration get_time = absl::Now() - start;
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), kObjectSize);

  std::vector<uint64_t> offsets = SampleOffsets();
  for (int i = 0; i < kSamples; ++i) {
    const uint8_t* page = got->data() + offsets[i];
    (void)*static_cast<const volatile uint8_t*>(page);  // fault the page into this process
    ASSERT_NE(writer_frames[i], 0u) << "writer page at offset " << offsets[i] << " not present";
    EXPECT_EQ(FrameOf(page), writer_frames[i]) << "page at offset " << offsets[i];
  }
  EXPECT_EQ(CheckPattern(kSeed, got->span()), "");

  // For scale, what a copy of the object costs here.
  start = absl::Now();
  auto copy = std::make_unique<uint8_t[]>(kObjectSize);
  std::memcpy(copy.get(), got->data(), kObjectSize);
  absl::Duration copy_time = absl::Now() - start;
  EXPECT_EQ(std::memcmp(copy.get(), got->data(), 4096), 0);
  RecordProperty("get_microseconds", static_cast<int>(absl::ToInt64Microseconds(get_time)));
  RecordProperty("copy_microseconds", static_cast<int>(absl::ToInt64Microseconds(copy_time)));

  ASSERT_TRUE(writer.channel().Send('q'));
  EXPECT_TRUE(writer.ExitedOk());
  EXPECT_TRUE(store.alive());
}

}  // namespace
}  // namespace ray::store
