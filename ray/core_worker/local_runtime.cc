#include "ray/core_worker/local_runtime.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ray/function/function_id.h"
#include "ray/object/object_format.h"
#include "ray/object/status.h"

namespace ray::core {

class LocalRuntime::Buffer {
 public:
  explicit Buffer(size_t size) : size_(size) {
    // aligned_alloc wants a multiple of the alignment, and a non-zero size.
    const size_t rounded = (size + kPayloadAlignment - 1) / kPayloadAlignment * kPayloadAlignment;
    data_ = static_cast<uint8_t*>(
        std::aligned_alloc(kPayloadAlignment, rounded == 0 ? kPayloadAlignment : rounded));
    if (data_ == nullptr) throw std::bad_alloc();
  }
  explicit Buffer(std::string_view bytes) : Buffer(bytes.size()) {
    if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
  }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::span<uint8_t> span() { return {data_, size_}; }
  std::span<const uint8_t> span() const { return {data_, size_}; }

 private:
  uint8_t* data_;
  size_t size_;
};

namespace {

// The task running in this thread (tasks nest: each Submit saves and restores it), so Puts
// inside a task get IDs derived from that task's ID.
struct TaskContext {
  TaskID task;
  uint32_t puts = 0;
};
thread_local TaskContext* current_task = nullptr;

class LocalReturnWriter final : public ReturnWriter {
 public:
  explicit LocalReturnWriter(size_t n) : buffers_(n), nested_(n) {}

  absl::Status SetNestedRefs(size_t index, std::vector<ObjectID> ids) override {
    if (index >= nested_.size()) return CheckReturnIndex(index, nested_.size(), false);
    nested_[index] = std::move(ids);
    return absl::OkStatus();
  }

  absl::StatusOr<std::span<uint8_t>> Allocate(size_t index, size_t size) override {
    const bool written = index < buffers_.size() && buffers_[index] != nullptr;
    if (absl::Status fits = CheckReturnIndex(index, buffers_.size(), written); !fits.ok()) {
      return fits;
    }
    buffers_[index] = std::make_shared<LocalRuntime::Buffer>(size);
    return buffers_[index]->span();
  }

  std::vector<std::shared_ptr<LocalRuntime::Buffer>>& buffers() { return buffers_; }
  std::vector<std::vector<ObjectID>>& nested() { return nested_; }

 private:
  std::vector<std::shared_ptr<LocalRuntime::Buffer>> buffers_;
  std::vector<std::vector<ObjectID>> nested_;
};

}  // namespace

LocalRuntime::LocalRuntime() : driver_task_(TaskID::FromRandom()) {}

LocalRuntime::~LocalRuntime() = default;

TaskID LocalRuntime::CurrentTaskId() const {
  return current_task != nullptr ? current_task->task : driver_task_;
}

void LocalRuntime::Store(const ObjectID& id, std::shared_ptr<const Buffer> buffer,
                         std::vector<ObjectID> nested) {
  absl::MutexLock lock(&mu_);
  const size_t size = buffer->span().size();
  buffers_[id] = std::move(buffer);
  references_.Register(id);  // the caller's reference (see core_runtime.h)
  references_.MarkReady(id, nullptr, size, std::move(nested));
}

std::vector<std::shared_ptr<const LocalRuntime::Buffer>> LocalRuntime::TakeFreed() {
  std::vector<std::shared_ptr<const Buffer>> freed;
  for (const ObjectID& id : references_.TakeStoreDeletes()) {
    auto it = buffers_.find(id);
    if (it == buffers_.end()) continue;
    freed.push_back(std::move(it->second));
    buffers_.erase(it);
  }
  return freed;
}

absl::StatusOr<std::vector<ObjectValue>> LocalRuntime::Lookup(std::span<const ObjectID> ids,
                                                              const char* op) {
  std::vector<ObjectValue> values;
  values.reserve(ids.size());
  absl::MutexLock lock(&mu_);
  for (const ObjectID& id : ids) {
    auto it = buffers_.find(id);
    if (it == buffers_.end()) {
      return absl::NotFoundError(absl::StrCat(op, ": object ", id.Hex(),
                                              " does not exist in this local-mode runtime (it was "
                                              "freed, or was not made by this runtime)"));
    }
    values.push_back(ObjectValue{it->second->span(), it->second});
  }
  return values;
}

absl::StatusOr<std::vector<ObjectID>> LocalRuntime::Submit(TaskSpec spec) {
  if (spec.invoker == nullptr || spec.function == nullptr) {
    return absl::InvalidArgumentError("Submit: the task has no invoker or no function");
  }
  if (spec.options.num_returns < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Submit: num_returns = ", spec.options.num_returns));
  }
  const size_t num_returns = static_cast<size_t>(spec.options.num_returns);
  TaskContext context{TaskID::FromRandom()};
  std::vector<ObjectID> returns;
  returns.reserve(num_returns);
  for (size_t i = 0; i < num_returns; ++i) {
    returns.push_back(ObjectID::ForReturn(context.task, static_cast<uint32_t>(i + 1)));
  }
  auto store_all = [&](std::shared_ptr<const Buffer> buffer) {
    for (const ObjectID& id : returns) Store(id, buffer, {});
  };
  auto fail = [&](TaskErrorInfo info) {
    store_all(std::make_shared<const Buffer>(SerializeError(info)));
    return returns;
  };

  // Resolve the arguments; an error object among them is the task's result, unrun.
  std::vector<ObjectValue> args;
  args.reserve(spec.args.size());
  for (TaskArg& arg : spec.args) {
    if (arg.ref.IsNil()) {
      auto value = std::make_shared<const std::string>(std::move(arg.value));
      args.push_back(ObjectValue{AsBytes(*value), value});
      continue;
    }
    std::shared_ptr<const Buffer> buffer;
    {
      absl::MutexLock lock(&mu_);
      auto it = buffers_.find(arg.ref);
      if (it != buffers_.end()) buffer = it->second;
    }
    if (buffer == nullptr) {
      return fail(TaskErrorInfoOf(
          absl::NotFoundError(absl::StrCat("argument ", args.size(), " is object ", arg.ref.Hex(),
                                           ", which does not exist in this local-mode runtime "
                                           "(freed, or not made here)")),
          FunctionName(spec.function), context.task));
    }
    if (IsError(buffer->span())) {
      store_all(buffer);
      return returns;
    }
    args.push_back(ObjectValue{buffer->span(), buffer});
  }

  // Run it here, as the current task of this thread.
  LocalReturnWriter writer(num_returns);
  TaskContext* const saved = current_task;
  current_task = &context;
  absl::Status status;
  try {
    status = spec.invoker(spec.function, args, writer);
  } catch (...) {  // what an invoker let through
    current_task = saved;
    return fail(CaughtExceptionErrorInfo(FunctionName(spec.function), context.task));
  }
  current_task = saved;
  for (size_t i = 0; i < num_returns && status.ok(); ++i) {
    if (writer.buffers()[i] == nullptr) {
      status = absl::FailedPreconditionError(
          absl::StrCat("the task did not write return value ", i, " of ", num_returns));
    }
  }
  // A status that carries an error object keeps it: it names the task that failed first.
  if (!status.ok()) return fail(TaskErrorInfoOf(status, FunctionName(spec.function), context.task));
  for (size_t i = 0; i < num_returns; ++i) {
    Store(returns[i], std::move(writer.buffers()[i]), std::move(writer.nested()[i]));
  }
  return returns;
}

absl::StatusOr<ObjectID> LocalRuntime::Put(size_t size,
                                           absl::FunctionRef<void(std::span<uint8_t>)> write,
                                           const PutOptions& options) {
  ObjectID id = current_task != nullptr
                    ? ObjectID::ForPut(current_task->task, current_task->puts++, options.hidden)
                    : ObjectID::ForPut(driver_task_, driver_puts_.fetch_add(1), options.hidden);
  auto buffer = std::make_shared<Buffer>(size);
  write(buffer->span());
  Store(id, std::move(buffer), options.nested_refs);
  return id;
}

absl::StatusOr<std::vector<ObjectValue>> LocalRuntime::Get(std::span<const ObjectID> ids,
                                                           absl::Duration) {
  return Lookup(ids, "Get");
}

absl::StatusOr<WaitIndices> LocalRuntime::Wait(std::span<const ObjectID> ids, size_t num_returns,
                                               absl::Duration) {
  // Every object exists (or this fails): all are ready.
  if (absl::Status exist = Lookup(ids, "Wait").status(); !exist.ok()) return exist;
  WaitIndices result;
  for (size_t i = 0; i < ids.size(); ++i) {
    (i < num_returns ? result.ready : result.not_ready).push_back(i);
  }
  return result;
}

void LocalRuntime::AddRef(const ObjectID& id) {
  absl::MutexLock lock(&mu_);
  references_.AddRef(id);
}

void LocalRuntime::RemoveRef(const ObjectID& id) {
  std::vector<std::shared_ptr<const Buffer>> freed;  // released after the lock
  absl::MutexLock lock(&mu_);
  references_.RemoveRef(id);
  freed = TakeFreed();
}

size_t LocalRuntime::NumObjects() const {
  absl::MutexLock lock(&mu_);
  return buffers_.size();
}

int64_t LocalRuntime::RefCount(const ObjectID& id) const {
  absl::MutexLock lock(&mu_);
  const ReferenceTable::Entry* entry = references_.Find(id);
  return entry == nullptr ? -1 : entry->refs;
}

}  // namespace ray::core
