#include "ray/rpc/worker_messages.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "ray/common/capnp_bytes.h"

namespace ray::core {
namespace {

const FunctionDescriptor kAdd{"0123456789abcdef0123456789abcdef01234567", "/bin/x", 0x1139,
                              "add(int, int)"};
const FunctionDescriptor kInvoker{"0123456789abcdef0123456789abcdef01234567", "", 0x2000,
                                  "Invoker<add>::Run"};

// The error of reading `root` (a FromWorker or ToWorker being built) back: "" if it reads.
std::string ErrorOf(rpc::FromWorker::Builder root) {
  absl::Status s = ReadFromWorker(root.asReader()).status();
  EXPECT_TRUE(s.ok() || s.code() == absl::StatusCode::kInvalidArgument) << s;
  return s.ok() ? "" : std::string(s.message());
}
std::string ErrorOf(rpc::ToWorker::Builder root) {
  absl::Status s = ReadToWorker(root.asReader()).status();
  EXPECT_TRUE(s.ok() || s.code() == absl::StatusCode::kInvalidArgument) << s;
  return s.ok() ? "" : std::string(s.message());
}

std::vector<ObjectID> RandomIds(size_t n) {
  std::vector<ObjectID> ids(n);
  for (ObjectID& id : ids) id = ObjectID::FromRandom();
  return ids;
}

TEST(WorkerMessagesTest, AFunctionDefinitionRoundTrips) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<rpc::ToWorker>();
  FunctionDescriptor huge = kAdd;
  huge.offset = ~uint64_t{0};
  WriteFunctionDef(root.initFunctions(2)[0], 7, {kInvoker, kAdd, "add"});
  WriteFunctionDef(root.getFunctions()[1], 8, {kInvoker, huge, "huge"});
  auto in = ReadToWorker(root.asReader());
  ASSERT_TRUE(in.ok()) << in.status();
  ASSERT_EQ(in->functions.size(), 2u);
  const FunctionDef& def = in->functions[0];
  EXPECT_EQ(def.key, 7u);
  EXPECT_EQ(def.record.name, "add");
  for (const auto& [got, sent] :
       {std::pair{def.record.invoker, kInvoker}, {def.record.function, kAdd}}) {
    EXPECT_EQ(got, sent);  // build-id and offset
    EXPECT_EQ(got.module_build_id, sent.module_build_id);
    EXPECT_EQ(got.name, sent.name);
    EXPECT_EQ(got.module_path, sent.module_path);
  }
  EXPECT_EQ(in->functions[1].record.function.offset, ~uint64_t{0});
  EXPECT_LT(FunctionDefBytes({kInvoker, kAdd, "add"}), 512u);
}

TEST(WorkerMessagesTest, AMalformedFunctionDefinitionIsRefused) {
  auto error = [](auto edit) {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<rpc::FromWorker>();
    WriteFunctionDef(root.initFunctions(1)[0], 7, {kInvoker, kAdd, "add"});
    edit(root.getFunctions()[0]);
    return ErrorOf(root);
  };
  EXPECT_EQ(error([](rpc::FunctionDef::Builder) {}), "");
  EXPECT_TRUE(absl::StrContains(error([](auto def) { def.disownInvoker(); }),
                                "functions[0]: a function definition without its invoker"));
  EXPECT_TRUE(
      absl::StrContains(error([](auto def) { def.disownFunction(); }), "without its function"));
  std::string empty = error([](auto def) { def.getFunction().disownBuildId(); });
  EXPECT_TRUE(absl::StrContains(empty,
                                "its function: malformed function descriptor: a build-id "
                                "of 0 bytes (1 to 64 expected)"))
      << empty;
  std::string long_id = error([](auto def) { def.getInvoker().initBuildId(65); });
  EXPECT_TRUE(absl::StrContains(long_id, "a build-id of 65 bytes")) << long_id;
  EXPECT_EQ(error([](auto def) { def.getInvoker().initBuildId(64); }), "");
}

TEST(WorkerMessagesTest, ATaskRoundTripsBothWays) {
  const TaskHeader header{.id = TaskID::FromRandom(),
                          .parent = TaskID::FromRandom(),
                          .function = 42,
                          .num_returns = 3,
                          .num_cpus = 0.5,
                          .max_retries = -1,
                          .name = "a task",
                          .run_while_blocked = true};
  const ObjectID ref = ObjectID::FromRandom();
  const std::vector<ObjectID> nested = RandomIds(2);
  const std::string value(1000, 'v');
  auto arg = [&](size_t i) -> ArgView {
    return i == 1 ? ArgView{.ref = ref} : ArgView{.value = i == 0 ? std::string_view(value) : ""};
  };
  capnp::MallocMessageBuilder from, to;
  WriteTask(from.initRoot<rpc::FromWorker>().initSubmits(1)[0], header, 3, arg, nested);
  WriteTask(to.initRoot<rpc::ToWorker>().initTasks(1)[0], header, 3, arg);
  auto submitted = ReadFromWorker(from.getRoot<rpc::FromWorker>().asReader());
  auto sent = ReadToWorker(to.getRoot<rpc::ToWorker>().asReader());
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  ASSERT_TRUE(sent.ok()) << sent.status();
  ASSERT_EQ(submitted->submits.size(), 1u);
  ASSERT_EQ(sent->tasks.size(), 1u);
  for (const TaskView& task : {submitted->submits[0], sent->tasks[0]}) {
    const TaskHeader& h = task.header;
    EXPECT_EQ(h.id, header.id);
    EXPECT_EQ(h.parent, header.parent);
    EXPECT_EQ(h.function, 42u);
    EXPECT_EQ(h.num_returns, 3u);
    EXPECT_EQ(h.num_cpus, 0.5);
    EXPECT_EQ(h.max_retries, -1);
    EXPECT_EQ(h.name, "a task");
    EXPECT_TRUE(h.run_while_blocked);
    ASSERT_EQ(task.args.size(), 3u);
    EXPECT_TRUE(task.args[0].ref.IsNil());
    EXPECT_EQ(task.args[0].value, value);
    EXPECT_EQ(task.args[1].ref, ref);
    EXPECT_TRUE(task.args[2].ref.IsNil());
    EXPECT_EQ(task.args[2].value, "");
  }
  // A view, not a copy: it points into the message.
  auto words = from.getSegmentsForOutput()[0];
  const char* data = submitted->submits[0].args[0].value.data();
  EXPECT_TRUE(data >= words.asChars().begin() && data < words.asChars().end());
  EXPECT_EQ(submitted->submits[0].nested_refs.ToVector(), nested);
  EXPECT_TRUE(sent->tasks[0].nested_refs.empty());
}

TEST(WorkerMessagesTest, ObjectsAndResultsRoundTrip) {
  const std::vector<ObjectID> nested = RandomIds(3);
  const ObjectID inline_id = ObjectID::FromRandom(), stored_id = ObjectID::FromRandom();
  const TaskID task = TaskID::FromRandom();
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<rpc::FromWorker>();
  WriteObject(root.initPuts(2)[0], inline_id, "bytes", nested);
  WriteStoredObject(root.getPuts()[1], stored_id, 1 << 20);
  auto returns = WriteTaskDone(root.initDone(1)[0], task, 100, 250, 2);
  WriteObject(returns[0], ObjectID::ForReturn(task, 1), "");
  WriteStoredObject(returns[1], ObjectID::ForReturn(task, 2), 7, nested);
  auto in = ReadFromWorker(root.asReader());
  ASSERT_TRUE(in.ok()) << in.status();
  ASSERT_EQ(in->puts.size(), 2u);
  ObjectView put = in->puts[0];
  EXPECT_EQ(put.id, inline_id);
  EXPECT_FALSE(put.in_store);
  EXPECT_EQ(put.value, "bytes");
  EXPECT_EQ(put.size, 5u);
  EXPECT_EQ(put.nested_refs.ToVector(), nested);
  put = in->puts[1];
  EXPECT_EQ(put.id, stored_id);
  EXPECT_TRUE(put.in_store);
  EXPECT_EQ(put.size, 1u << 20);
  EXPECT_TRUE(put.nested_refs.empty());
  ASSERT_EQ(in->done.size(), 1u);
  TaskDoneView done = in->done[0];
  EXPECT_EQ(done.task, task);
  EXPECT_EQ(done.started_ns, 100);
  EXPECT_EQ(done.finished_ns, 250);
  ASSERT_EQ(done.returns.size(), 2u);
  EXPECT_EQ(done.returns[0].id, ObjectID::ForReturn(task, 1));
  EXPECT_FALSE(done.returns[0].in_store);
  EXPECT_EQ(done.returns[0].size, 0u);
  EXPECT_TRUE(done.returns[1].in_store);
  EXPECT_EQ(done.returns[1].size, 7u);
  EXPECT_EQ(done.returns[1].nested_refs.ToVector(), nested);
}

TEST(WorkerMessagesTest, IdListsAndRequestsRoundTrip) {
  const std::vector<ObjectID> add = RandomIds(3), remove = RandomIds(1), ids = RandomIds(4);
  const std::vector<TaskID> back = {TaskID::FromRandom(), TaskID::FromRandom()};
  capnp::MallocMessageBuilder from;
  auto root = from.initRoot<rpc::FromWorker>();
  root.setPid(1234);
  WriteIdList<ObjectID>(root.initAddRefs(add.size()), add);
  WriteIdList<ObjectID>(root.initRemoveRefs(remove.size()), remove);
  WriteIdList<TaskID>(root.initHandedBack(back.size()), back);
  WriteGetRequest(root, /*request=*/11, ids, 500);
  auto in = ReadFromWorker(root.asReader());
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->pid, 1234);
  EXPECT_EQ(in->add_refs.ToVector(), add);
  EXPECT_EQ(in->remove_refs.ToVector(), remove);
  EXPECT_EQ(in->handed_back.ToVector(), back);
  ASSERT_TRUE(in->get.has_value());
  EXPECT_EQ(in->get->ids.ToVector(), ids);
  EXPECT_EQ(in->get->timeout_ms, 500);
  EXPECT_EQ(in->get->request, 11u);
  EXPECT_FALSE(in->wait.has_value());
  EXPECT_FALSE(in->lookup_actor.has_value());

  capnp::MallocMessageBuilder wait_message;
  auto wait_root = wait_message.initRoot<rpc::FromWorker>();
  WriteWaitRequest(wait_root, /*request=*/12, ids, 2, -1);
  WriteLookupRequest(wait_root, /*request=*/13, "counter");
  in = ReadFromWorker(wait_root.asReader());
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_FALSE(in->get.has_value());
  ASSERT_TRUE(in->wait.has_value());
  EXPECT_EQ(in->wait->ids.ToVector(), ids);
  EXPECT_EQ(in->wait->num_returns, 2u);
  EXPECT_EQ(in->wait->timeout_ms, -1);
  EXPECT_EQ(in->wait->request, 12u);
  ASSERT_TRUE(in->lookup_actor.has_value());
  EXPECT_EQ(in->lookup_actor->name, "counter");
  EXPECT_EQ(in->lookup_actor->request, 13u);
  EXPECT_TRUE(in->puts.empty() && in->submits.empty() && in->done.empty());

  capnp::MallocMessageBuilder to;
  auto reply = to.initRoot<rpc::ToWorker>();
  reply.setGetFailed("timed out");
  reply.setReturnQueued(true);
  reply.setReplyTo(12);
  WriteIdList<ObjectID>(reply.initReady(ids.size()), ids);
  auto out = ReadToWorker(reply.asReader());
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->get_failed, "timed out");
  EXPECT_TRUE(out->return_queued);
  ASSERT_TRUE(out->ready.has_value());
  EXPECT_EQ(out->ready->ToVector(), ids);
  EXPECT_EQ(out->reply_to, 12u);

  capnp::MallocMessageBuilder empty;
  out = ReadToWorker(empty.initRoot<rpc::ToWorker>().asReader());
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->get_failed.has_value() || out->ready.has_value() || out->return_queued);
}

TEST(WorkerMessagesTest, AMalformedTaskIsRefused) {
  auto error = [](auto edit) {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<rpc::ToWorker>();
    WriteTask(root.initTasks(2)[1], {.id = TaskID::FromRandom()}, 2, [](size_t i) -> ArgView {
      return i == 0 ? ArgView{.value = "v"} : ArgView{.ref = ObjectID::FromRandom()};
    });
    root.getTasks()[0].setTaskId(AsData(TaskID::FromRandom().Binary()));
    root.getTasks()[0].setParentTaskId(AsData(TaskID().Binary()));
    edit(root.getTasks()[1]);
    return ErrorOf(root);
  };
  EXPECT_EQ(error([](rpc::Task::Builder) {}), "");
  EXPECT_EQ(error([](auto task) { task.disownTaskId(); }),
            "malformed message to a worker: tasks[1]: a task without an ID");
  EXPECT_EQ(error([](auto task) { task.initTaskId(19); }),
            "malformed message to a worker: tasks[1]: taskId: an ID of 19 bytes (20 expected)");
  EXPECT_EQ(error([](auto task) { task.disownParentTaskId(); }),
            "malformed message to a worker: tasks[1]: parentTaskId: an ID of 0 bytes (20 "
            "expected)");
  EXPECT_EQ(error([](auto task) { task.getArgs()[1].initRef(25); }),
            "malformed message to a worker: tasks[1]: args[1]: an ID of 25 bytes (24 expected)");
  EXPECT_EQ(error([](auto task) { task.getArgs()[1].setRef(AsData(ObjectID().Binary())); }),
            "malformed message to a worker: tasks[1]: args[1]: a ref to no object");
  EXPECT_EQ(error([](auto task) { task.initNestedRefs(1).set(0, AsData("short")); }),
            "malformed message to a worker: tasks[1]: nestedRefs[0]: an ID of 5 bytes (24 "
            "expected)");
}

TEST(WorkerMessagesTest, AMalformedObjectOrResultIsRefused) {
  auto error = [](auto edit) {
    capnp::MallocMessageBuilder message;
    auto root = message.initRoot<rpc::FromWorker>();
    const TaskID task = TaskID::FromRandom();
    WriteObject(root.initPuts(1)[0], ObjectID::FromRandom(), "v");
    WriteStoredObject(WriteTaskDone(root.initDone(1)[0], task, 0, 0, 1)[0],
                      ObjectID::ForReturn(task, 1), 10);
    edit(root);
    return ErrorOf(root);
  };
  EXPECT_EQ(error([](rpc::FromWorker::Builder) {}), "");
  EXPECT_EQ(error([](auto root) { root.getPuts()[0].disownId(); }),
            "malformed message from a worker: puts[0]: an object without an ID");
  EXPECT_EQ(error([](auto root) { root.getPuts()[0].initId(3); }),
            "malformed message from a worker: puts[0]: id: an ID of 3 bytes (24 expected)");
  EXPECT_EQ(error([](auto root) { root.getDone()[0].initTaskId(24); }),
            "malformed message from a worker: done[0]: taskId: an ID of 24 bytes (20 expected)");
  EXPECT_EQ(error([](auto root) { root.getDone()[0].getReturns()[0].disownId(); }),
            "malformed message from a worker: done[0]: returns[0]: an object without an ID");
  EXPECT_EQ(error([](auto root) {
              auto ids = root.initRemoveRefs(2);
              ids.set(0, AsData(ObjectID::FromRandom().Binary()));
              ids.set(1, AsData("x"));
            }),
            "malformed message from a worker: removeRefs[1]: an ID of 1 bytes (24 expected)");
  EXPECT_EQ(error([](auto root) { root.initHandedBack(1).set(0, AsData(ObjectID().Binary())); }),
            "malformed message from a worker: handedBack[0]: an ID of 24 bytes (20 expected)");
  EXPECT_EQ(error([](auto root) { root.initWait().initIds(1); }),
            "malformed message from a worker: wait.ids[0]: an ID of 0 bytes (24 expected)");
}

TEST(WorkerMessagesTest, AListPastMaxIdsPerListIsRefused) {
  const size_t too_many = rpc::MAX_IDS_PER_LIST + 1;
  const std::string id(ObjectID::kSize, '\1');
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<rpc::FromWorker>();
  auto ids = root.initGet().initIds(too_many);
  for (size_t i = 0; i < too_many; ++i) ids.set(i, AsData(id));
  EXPECT_EQ(ErrorOf(root),
            "malformed message from a worker: get.ids: 1048577 elements, more than 1048576");

  capnp::MallocMessageBuilder task_message;
  auto task = task_message.initRoot<rpc::FromWorker>().initSubmits(1)[0];
  WriteTask(task, {.id = TaskID::FromRandom()}, 0, [](size_t) { return ArgView{}; });
  auto args = task.initArgs(too_many);
  for (size_t i = 0; i < too_many; ++i) args[i].setValue(AsData(""));
  EXPECT_EQ(ErrorOf(task_message.getRoot<rpc::FromWorker>()),
            "malformed message from a worker: submits[0]: args: 1048577 elements, more than "
            "1048576");
}

// Reads every part of a message that decoded, as the scheduler would.
size_t Walk(const FromWorkerView& in) {
  size_t n = in.functions.size() + in.add_refs.ToVector().size() +
             in.remove_refs.ToVector().size() + in.handed_back.ToVector().size();
  for (const ObjectView& put : in.puts) n += put.value.size() + put.nested_refs.ToVector().size();
  for (const TaskView& task : in.submits) {
    n += task.header.name.size() + task.nested_refs.ToVector().size();
    for (const ArgView& arg : task.args) n += arg.value.size();
  }
  for (const TaskDoneView& done : in.done) {
    for (const ObjectView& ret : done.returns) n += ret.value.size();
  }
  if (in.get) n += in.get->ids.ToVector().size();
  return n;
}

TEST(WorkerMessagesTest, CorruptedBytesAreRefusedOrReadNeverACrash) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<rpc::FromWorker>();
  WriteFunctionDef(root.initFunctions(1)[0], 7, {kInvoker, kAdd, "add"});
  const TaskID task = TaskID::FromRandom();
  WriteTask(
      root.initSubmits(1)[0], {.id = task, .name = "t"}, 2,
      [](size_t i) -> ArgView {
        return i == 0 ? ArgView{.value = "value"} : ArgView{.ref = ObjectID::FromRandom()};
      },
      RandomIds(2));
  WriteObject(root.initPuts(1)[0], ObjectID::FromRandom(), "put", RandomIds(1));
  WriteObject(WriteTaskDone(root.initDone(1)[0], task, 1, 2, 1)[0], ObjectID::ForReturn(task, 1),
              "ret");
  WriteIdList<ObjectID>(root.initAddRefs(2), RandomIds(2));
  WriteGetRequest(root, /*request=*/1, RandomIds(2), 10);
  const kj::Array<capnp::word> good = capnp::messageToFlatArray(message);

  std::mt19937 rng(42);
  int read = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(good.asPtr());
    kj::ArrayPtr<kj::byte> bytes = words.asBytes();
    for (int n = 1 + rng() % 3; n > 0; --n)
      bytes[rng() % bytes.size()] = static_cast<kj::byte>(rng());
    absl::StatusOr<FromWorkerView> in = absl::InternalError("no message");
    try {
      capnp::FlatArrayMessageReader reader(words);
      in = ReadFromWorker(reader.getRoot<rpc::FromWorker>());
      if (in.ok()) {
        EXPECT_NO_THROW(Walk(*in));
        ++read;
        continue;
      }
    } catch (const kj::Exception&) {
      ++refused;  // the framing itself (the segment table), before the codec
      continue;
    }
    EXPECT_EQ(in.status().code(), absl::StatusCode::kInvalidArgument) << in.status();
    ++refused;
  }
  printf("corrupted messages: %d read, %d refused\n", read, refused);
  EXPECT_GT(refused, 0);
}

// What checking costs on the hot path: a worker's batch of results and submits read through
// the codec, against the same fields read straight off the Cap'n Proto readers (as the scheduler
// did before the codec). Prints both; the bound only catches a gross regression.
TEST(WorkerMessagesTest, Cost) {
  constexpr int kTasks = 1000, kRounds = 200;
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<rpc::FromWorker>();
  auto submits = root.initSubmits(kTasks);
  auto done = root.initDone(kTasks);
  const ObjectID ref = ObjectID::FromRandom();
  for (int i = 0; i < kTasks; ++i) {
    const TaskID id = TaskID::FromRandom();
    WriteTask(submits[i], {.id = id, .function = 1, .num_returns = 1}, 2, [&](size_t a) {
      return a == 0 ? ArgView{.value = "sixteen bytes..."} : ArgView{.ref = ref};
    });
    WriteObject(WriteTaskDone(done[i], id, 1, 2, 1)[0], ObjectID::ForReturn(id, 1), "8 bytes.");
  }
  const kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto ns_per_task = [&](auto read) {
    size_t sink = 0;
    auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < kRounds; ++r) {
      capnp::FlatArrayMessageReader reader(words);
      sink += read(reader.getRoot<rpc::FromWorker>());
    }
    std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    EXPECT_GT(sink, 0u);
    return took.count() / (kRounds * kTasks);
  };
  const double raw = ns_per_task([](rpc::FromWorker::Reader in) {
    size_t n = 0;
    for (auto task : in.getSubmits()) {
      n += TaskID::FromBinary(AsView(task.getTaskId())).IsNil() + task.getFunction();
      n += TaskID::FromBinary(AsView(task.getParentTaskId())).IsNil() + task.getName().size();
      for (auto arg : task.getArgs()) {
        n += arg.isValue() ? arg.getValue().size()
                           : ObjectID::FromBinaryOrNil(AsView(arg.getRef())).IsNil();
      }
    }
    for (auto d : in.getDone()) {
      n += TaskID::FromBinary(AsView(d.getTaskId())).IsNil();
      for (auto ret : d.getReturns()) {
        n += ObjectID::FromBinaryOrNil(AsView(ret.getId())).IsNil() + ret.getValue().size();
      }
    }
    return n;
  });
  const double codec = ns_per_task([](rpc::FromWorker::Reader reader) {
    auto in = ReadFromWorker(reader);
    EXPECT_TRUE(in.ok()) << in.status();
    size_t n = 0;
    for (const TaskView& task : in->submits) {
      n += task.header.id.IsNil() + task.header.function + task.header.parent.IsNil() +
           task.header.name.size();
      for (const ArgView& arg : task.args) n += arg.ref.IsNil() ? arg.value.size() : 0;
    }
    for (const TaskDoneView& d : in->done) {
      n += d.task.IsNil();
      for (const ObjectView& ret : d.returns) n += ret.id.IsNil() + ret.value.size();
    }
    return n;
  });
  printf(
      "a submit and a result read: %.0f ns through the codec (checked), %.0f ns off the "
      "readers\n",
      codec, raw);
  EXPECT_LT(codec, 5000.0);
}

}  // namespace
}  // namespace ray::core
