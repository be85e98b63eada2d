#include "ray/node/worker_connection.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "ray/common/capnp_bytes.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {
namespace {

// A connection and the worker's end of its socket, with tables the encoder reads.
class WorkerConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    connection_ = std::make_unique<WorkerConnection>(fds[0]);
    worker_end_ = std::make_unique<MessageStream>(fds[1], rpc::MAX_FRAME_BYTES);
    functions_[1] = Record(1, "f");
    functions_[2] = Record(2, "g");
  }

  static FunctionRecord Record(uint64_t offset, const std::string& name) {
    return {.invoker = {.module_build_id = "0a1b", .offset = 0x10},
            .function = {.module_build_id = "0a1b", .offset = offset, .name = name},
            .name = name};
  }

  TaskRecord& AddTask(uint64_t function, std::vector<TaskRecord::Arg> args = {}) {
    TaskRecord task;
    task.id = TaskID::FromRandom();
    task.function_key = function;
    task.args = std::move(args);
    TaskRecord& added = tasks_[task.id] = std::move(task);
    connection_->AddTask(added);
    return added;
  }

  // Encodes the outbox and returns the messages the worker reads.
  std::vector<std::unique_ptr<ReceivedMessage>> Send() {
    auto function = [&](uint64_t key) -> const FunctionRecord& { return functions_.at(key); };
    auto task = [&](const TaskID& id) -> const TaskRecord& { return tasks_.at(id); };
    auto inline_value = [&](const ObjectID& ref) -> const std::string* {
      auto it = inline_values_.find(ref);
      return it == inline_values_.end() ? nullptr : &it->second;
    };
    auto source = [](const ObjectID&) { return std::string_view(); };
    connection_->QueueOutbox(
        {.function = function, .task = task, .inline_value = inline_value, .source = source});
    std::vector<std::unique_ptr<ReceivedMessage>> received;
    while (connection_->stream().HasPendingWrites()) {
      EXPECT_TRUE(connection_->stream().Flush().ok());
      EXPECT_TRUE(worker_end_
                      ->ReadAvailable([&](std::unique_ptr<ReceivedMessage> m) {
                        received.push_back(std::move(m));
                      })
                      .ok());
    }
    EXPECT_TRUE(worker_end_
                    ->ReadBlocking(absl::Milliseconds(100),
                                   [&](std::unique_ptr<ReceivedMessage> m) {
                                     received.push_back(std::move(m));
                                   })
                    .ok() ||
                !received.empty());
    return received;
  }

  std::unique_ptr<WorkerConnection> connection_;
  std::unique_ptr<MessageStream> worker_end_;
  absl::flat_hash_map<uint64_t, FunctionRecord> functions_;
  absl::flat_hash_map<TaskID, TaskRecord> tasks_;
  absl::flat_hash_map<ObjectID, std::string> inline_values_;  // values the scheduler holds
};

TEST_F(WorkerConnectionTest, AFunctionGoesToAWorkerOnce) {
  AddTask(1);
  AddTask(1);
  AddTask(2);
  EXPECT_EQ(connection_->outbox().functions, (std::vector<uint64_t>{1, 2}));
  Send();
  AddTask(1);
  EXPECT_TRUE(connection_->outbox().functions.empty());
  EXPECT_EQ(connection_->outbox().tasks.size(), 1u);
}

TEST_F(WorkerConnectionTest, AnOutboxBecomesOneMessage) {
  ObjectID small = ObjectID::FromRandom(), stored = ObjectID::FromRandom();
  inline_values_[small] = "small value";
  TaskRecord& task = AddTask(1, {{.value = "by value"}, {.ref = small}, {.ref = stored}});
  auto& box = connection_->outbox();
  WorkerConnection::Reply& reply = box.replies.emplace_back();
  reply.request = 7;
  reply.objects.push_back({small, std::make_shared<const std::string>("got"), 3});
  reply.objects.push_back({stored, nullptr, 1000});
  box.return_queued = true;
  auto messages = Send();
  EXPECT_TRUE(connection_->outbox().empty());
  ASSERT_EQ(messages.size(), 1u);
  auto in = messages[0]->Root<rpc::ToWorker>();
  ASSERT_EQ(in.getFunctions().size(), 1u);
  EXPECT_EQ(in.getFunctions()[0].getKey(), 1u);
  ASSERT_EQ(in.getTasks().size(), 1u);
  auto args = in.getTasks()[0].getArgs();
  EXPECT_EQ(AsView(in.getTasks()[0].getTaskId()), task.id.Binary());
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(AsView(args[0].getValue()), "by value");
  EXPECT_EQ(AsView(args[1].getValue()), "small value");  // inline: the worker needs no read
  EXPECT_EQ(AsView(args[2].getRef()), stored.Binary());
  ASSERT_EQ(in.getObjects().size(), 2u);
  EXPECT_EQ(AsView(in.getObjects()[0].getValue()), "got");
  EXPECT_EQ(in.getObjects()[1].getInStore(), 1000u);
  EXPECT_EQ(in.getReplyTo(), 7u);
  EXPECT_TRUE(in.getReturnQueued());
  EXPECT_FALSE(in.hasGetFailed());
  EXPECT_FALSE(in.hasReady());
}

TEST_F(WorkerConnectionTest, EachReplyGoesInAMessageNamingItsRequest) {
  ObjectID id = ObjectID::FromRandom();
  TaskRecord& task = AddTask(1);
  auto& box = connection_->outbox();
  box.replies.push_back({.request = 3, .get_failed = "timed out"});
  box.replies.push_back({.request = 4, .ready = std::vector<ObjectID>{id}});
  box.replies.push_back({.request = 5, .actor = std::make_pair(id, std::string("Counter"))});
  auto messages = Send();
  ASSERT_EQ(messages.size(), 3u);
  auto first = messages[0]->Root<rpc::ToWorker>();
  ASSERT_EQ(first.getTasks().size(), 1u);  // the tasks go with the first reply
  EXPECT_EQ(AsView(first.getTasks()[0].getTaskId()), task.id.Binary());
  EXPECT_EQ(first.getReplyTo(), 3u);
  EXPECT_EQ(std::string_view(first.getGetFailed().cStr()), "timed out");
  EXPECT_FALSE(first.hasReady() || first.hasActor());
  auto second = messages[1]->Root<rpc::ToWorker>();
  EXPECT_EQ(second.getReplyTo(), 4u);
  EXPECT_EQ(second.getReady().size(), 1u);
  EXPECT_EQ(second.getTasks().size(), 0u);
  EXPECT_FALSE(second.hasGetFailed() || second.hasActor());
  auto third = messages[2]->Root<rpc::ToWorker>();
  EXPECT_EQ(third.getReplyTo(), 5u);
  EXPECT_EQ(std::string_view(third.getActor().getType().cStr()), "Counter");
  EXPECT_FALSE(third.hasGetFailed() || third.hasReady());
}

TEST_F(WorkerConnectionTest, ALargeOutboxIsSplitInOrderWithTheRepliesLast) {
  const std::string big(3 << 20, 'x');  // 3 MiB
  std::vector<TaskID> sent;
  for (int i = 0; i < 8; ++i) sent.push_back(AddTask(1 + i % 2, {{.value = big}}).id);
  connection_->outbox().replies.push_back({.request = 1, .get_failed = "timed out"});
  auto messages = Send();
  ASSERT_GT(messages.size(), 2u);
  std::vector<TaskID> received;
  for (size_t m = 0; m < messages.size(); ++m) {
    auto in = messages[m]->Root<rpc::ToWorker>();
    EXPECT_LE(messages[m]->Root<rpc::ToWorker>().totalSize().wordCount * 8,
              rpc::BATCH_BYTES + big.size() + 4096);  // at most the budget and one item
    for (auto t : in.getTasks()) received.push_back(TaskID::FromBinary(AsView(t.getTaskId())));
    EXPECT_EQ(in.hasGetFailed(), m + 1 == messages.size());
  }
  EXPECT_EQ(received, sent);
}

}  // namespace
}  // namespace ray::core
