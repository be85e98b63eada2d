// Clients killed with SIGKILL at awkward moments: the store notices the closed socket and
// undoes what the dead client held (unsealed objects, pins, a pending Get), and stays up.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <vector>

#include "ray/store/client.h"
#include "tests/store/raw_session.h"
#include "tests/store/store_process.h"
#include "tests/store/test_util.h"

namespace ray::store {
namespace {

using ::ray::testing::BlockUntilKilled;
using ::ray::testing::Channel;
using ::ray::testing::CheckPattern;
using ::ray::testing::ChildProcess;
using ::ray::testing::FillPattern;
using ::ray::testing::KilledBySigkill;
using ::ray::testing::WaitFor;

// The store learns of a death asynchronously; this bounds how long that may take.
constexpr absl::Duration kCleanupDeadline = absl::Seconds(10);

std::unique_ptr<StoreClient> MustConnect(const std::string& socket, const std::string& name) {
  auto client = StoreClient::Connect(socket, {.name = name});
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

StoreClientStats MustStats(StoreClient& client) {
  auto stats = client.Stats();
  EXPECT_TRUE(stats.ok()) << stats.status();
  return stats.ok() ? *stats : StoreClientStats{};
}

bool MustContain(StoreClient& client, const ObjectID& id) {
  auto contains = client.Contains(id);
  EXPECT_TRUE(contains.ok()) << contains.status();
  return contains.ok() && *contains;
}

std::vector<uint8_t> Pattern(uint64_t seed, size_t size) {
  std::vector<uint8_t> data(size);
  FillPattern(seed, data);
  return data;
}

TEST(ClientDeathTest, KilledMidCreateAbortsTheObject) {
  testing::StoreProcess store({"--capacity=256M", "--max_objects=1024"});
  ASSERT_TRUE(store.ready());
  const ObjectID id = ObjectID::FromRandom();
  constexpr uint64_t kSize = 64 << 20;

  ChildProcess child([&](Channel& channel) -> int {
    CHILD_CHECK(channel.Expect('g'));
    auto client = StoreClient::Connect(store.socket_path(), {.name = "doomed-creator"});
    CHILD_CHECK(client.ok(), client.status());
    auto object = (*client)->Create(id, kSize);
    CHILD_CHECK(object.ok(), object.status());
    std::memset(object->data(), 0xab, kSize / 2);  // half written when it dies
    CHILD_CHECK(channel.Send('c'));
    BlockUntilKilled();
  });

  auto client = MustConnect(store.socket_path(), "observer");
  ASSERT_NE(client, nullptr);
  StoreClientStats before = MustStats(*client);
  ASSERT_TRUE(child.channel().Send('g'));
  ASSERT_TRUE(child.channel().Expect('c')) << "the child failed (see its stderr)";

  StoreClientStats during = MustStats(*client);
  EXPECT_EQ(during.used, before.used + kSize);
  EXPECT_EQ(during.objects, before.objects + 1);
  EXPECT_FALSE(MustContain(*client, id));  // unsealed
  EXPECT_EQ(client->Create(id, 1024).status().code(), absl::StatusCode::kAlreadyExists);

  EXPECT_TRUE(KilledBySigkill(child.Kill(SIGKILL)));
  EXPECT_TRUE(WaitFor([&] { return MustStats(*client).used == before.used; }, kCleanupDeadline))
      << "the dead client's unsealed object was not aborted";
  StoreClientStats after = MustStats(*client);
  EXPECT_EQ(after.used, before.used);
  EXPECT_EQ(after.objects, before.objects);
  EXPECT_FALSE(MustContain(*client, id));

  // The ID is free again.
  auto again = client->Create(id, 4096);
  ASSERT_TRUE(again.ok()) << again.status();
  std::memset(again->data(), 0x11, 4096);
  ASSERT_TRUE(client->Seal(*std::move(again)).ok());
  auto got = client->Get(id, absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), 4096u);
  EXPECT_EQ(got->data()[4095], 0x11);
  EXPECT_TRUE(store.alive());
}

// A child that reads `id` (so pins it in its own pin array), checks the bytes, reports 'p'
// and waits to be killed.
std::function<int(Channel&)> PinAndBlock(const std::string& socket, ObjectID id, uint64_t seed) {
  return [socket, id, seed](Channel& channel) -> int {
    CHILD_CHECK(channel.Expect('g'));
    auto client = StoreClient::Connect(socket, {.name = "doomed-reader"});
    CHILD_CHECK(client.ok(), client.status());
    auto buffer = (*client)->Get(id, absl::Seconds(30));
    CHILD_CHECK(buffer.ok(), buffer.status());
    std::string diff = CheckPattern(seed, buffer->span());
    CHILD_CHECK(diff.empty(), diff);
    CHILD_CHECK(channel.Send('p'));
    BlockUntilKilled();
  };
}

TEST(ClientDeathTest, KilledHolderReleasesItsPinSoADeferredDeleteHappens) {
  testing::StoreProcess store({"--capacity=64M", "--max_objects=1024"});
  ASSERT_TRUE(store.ready());
  const ObjectID id = ObjectID::FromRandom();
  ChildProcess child(PinAndBlock(store.socket_path(), id, 7));

  auto client = MustConnect(store.socket_path(), "owner");
  ASSERT_NE(client, nullptr);
  StoreClientStats before = MustStats(*client);
  ASSERT_TRUE(client->Put(id, Pattern(7, 1 << 20)).ok());
  ASSERT_TRUE(client->Flush().ok());
  ASSERT_TRUE(child.channel().Send('g'));
  ASSERT_TRUE(child.channel().Expect('p')) << "the child failed (see its stderr)";

  // Pinned by the child: the delete is deferred, the object stays.
  ASSERT_TRUE(client->Delete({&id, 1}).ok());
  EXPECT_TRUE(MustContain(*client, id));

  EXPECT_TRUE(KilledBySigkill(child.Kill(SIGKILL)));
  EXPECT_TRUE(WaitFor([&] { return !MustContain(*client, id); }, kCleanupDeadline))
      << "the dead client's pin still holds the object";
  EXPECT_EQ(MustStats(*client).used, before.used);
  EXPECT_EQ(MustStats(*client).objects, before.objects);
  // Fully gone: the ID can be stored again.
  ASSERT_TRUE(client->Put(id, Pattern(8, 100)).ok());
  auto got = client->Get(id, absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(CheckPattern(8, got->span()), "");
  EXPECT_TRUE(store.alive());
}

TEST(ClientDeathTest, KilledHolderReleasesItsPinSoTheObjectCanBeEvicted) {
  testing::StoreProcess store({"--capacity=16M", "--max_objects=1024"});
  ASSERT_TRUE(store.ready());
  const ObjectID pinned = ObjectID::FromRandom();
  const ObjectID other = ObjectID::FromRandom();
  ChildProcess child(PinAndBlock(store.socket_path(), pinned, 9));

  auto client = MustConnect(store.socket_path(), "owner");
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Put(pinned, Pattern(9, 12 << 20), {.evictable = true}).ok());
  ASSERT_TRUE(client->Flush().ok());
  ASSERT_TRUE(child.channel().Send('g'));
  ASSERT_TRUE(child.channel().Expect('p')) << "the child failed (see its stderr)";

  // 12 MiB pinned by the child leaves no room for 8 MiB more.
  auto full = client->Create(other, 8 << 20);
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted) << full.status();

  EXPECT_TRUE(KilledBySigkill(child.Kill(SIGKILL)));
  std::optional<MutableObject> object;
  EXPECT_TRUE(WaitFor(
      [&] {
        auto created = client->Create(other, 8 << 20);
        if (created.ok()) object = *std::move(created);
        return created.ok();
      },
      kCleanupDeadline))
      << "the dead client's pin still keeps the object from being evicted";
  ASSERT_TRUE(object.has_value());
  ASSERT_TRUE(client->Seal(*std::move(object)).ok());
  EXPECT_FALSE(MustContain(*client, pinned));
  EXPECT_TRUE(MustContain(*client, other));
  EXPECT_EQ(MustStats(*client).evictions, 1u);
  EXPECT_TRUE(store.alive());
}

// A client blocked in a Get that can never be satisfied dies: its session must still end,
// releasing its pins and aborting its unsealed objects, and the abandoned wait must not
// linger in the store (a later seal of that ID must not touch it).
TEST(ClientDeathTest, KilledWhileBlockedInGetReleasesEverything) {
  testing::StoreProcess store({"--capacity=256M", "--max_objects=1024"});
  ASSERT_TRUE(store.ready());
  const ObjectID unsealed = ObjectID::FromRandom();
  const ObjectID pinned = ObjectID::FromRandom();
  const ObjectID awaited = ObjectID::FromRandom();
  constexpr uint64_t kSize = 32 << 20;

  ChildProcess child([&](Channel& channel) -> int {
    CHILD_CHECK(channel.Expect('g'));
    testing::RawSession raw(store.socket_path());
    auto create = raw.session().createRequest();
    create.setId(raw.Id(unsealed));
    create.setSize(kSize);
    auto created = create.send().wait(raw.wait_scope());
    CHILD_CHECK(created.getStatus().getCode() == rpc::Code::OK);
    auto pin = raw.session().getRequest();
    pin.initIds(1).set(0, raw.Id(pinned));
    pin.setTimeoutMs(10'000);
    auto pinned_reply = pin.send().wait(raw.wait_scope());
    CHILD_CHECK(pinned_reply.getStatuses()[0].getCode() == rpc::Code::OK);

    auto get = raw.session().getRequest();
    get.initIds(1).set(0, raw.Id(awaited));
    get.setTimeoutMs(-1);  // forever
    auto pending = get.send();
    // Calls on one capability are delivered in order: once this answer is back, the store
    // is already waiting for `awaited` on our behalf.
    auto contains = raw.session().containsRequest();
    contains.setId(raw.Id(awaited));
    CHILD_CHECK(!contains.send().wait(raw.wait_scope()).getSealed());
    CHILD_CHECK(channel.Send('b'));
    BlockUntilKilled();
  });

  auto client = MustConnect(store.socket_path(), "observer");
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->Put(pinned, Pattern(3, 1 << 20)).ok());
  ASSERT_TRUE(client->Flush().ok());
  StoreClientStats before = MustStats(*client);
  ASSERT_TRUE(child.channel().Send('g'));
  ASSERT_TRUE(child.channel().Expect('b')) << "the child failed (see its stderr)";
  EXPECT_EQ(MustStats(*client).used, before.used + kSize);
  ASSERT_TRUE(client->Delete({&pinned, 1}).ok());
  EXPECT_TRUE(MustContain(*client, pinned));  // the child's pin defers the delete

  EXPECT_TRUE(KilledBySigkill(child.Kill(SIGKILL)));
  EXPECT_TRUE(WaitFor([&] { return !MustContain(*client, pinned); }, kCleanupDeadline))
      << "the dead client's pin was not released";
  EXPECT_TRUE(
      WaitFor([&] { return MustStats(*client).used == before.used - (1 << 20); }, kCleanupDeadline))
      << "the dead client's unsealed object was not aborted";

  // Sealing the ID the dead client waited for wakes nobody and harms nothing.
  ASSERT_TRUE(client->Put(awaited, Pattern(4, 100)).ok());
  ASSERT_TRUE(client->Flush().ok());
  auto got = client->Get(awaited, absl::Seconds(10));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(CheckPattern(4, got->span()), "");
  got->Release();
  client.reset();
  ASSERT_TRUE(store.alive());
  int status = store.Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "store wait status " << status;
}

}  // namespace
}  // namespace ray::store
