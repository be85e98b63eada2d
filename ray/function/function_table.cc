#include "ray/function/function_table.h"

#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "ray/common/stable_hash.h"
#include "ray/function/function_id.h"

namespace ray::core {
namespace {

uint64_t Key(const FunctionDescriptor& invoker, const FunctionDescriptor& function) {
  auto offset = [](const FunctionDescriptor& d) {
    return std::string_view(reinterpret_cast<const char*>(&d.offset), sizeof(d.offset));
  };
  return Fnv1a()
      .Mix(invoker.module_build_id)
      .Mix(offset(invoker))
      .Mix(function.module_build_id)
      .Mix(offset(function))
      .hash();
}

}  // namespace

absl::StatusOr<DescribedFunction> DescribeTaskFunction(Invoker invoker, const void* function) {
  using Pair = std::pair<const void*, const void*>;
  thread_local absl::flat_hash_map<Pair, DescribedFunction> cache;
  Pair pair{reinterpret_cast<const void*>(invoker), function};
  if (auto it = cache.find(pair); it != cache.end()) return it->second;

  auto invoker_desc = DescribeFunctionCached(pair.first);
  if (!invoker_desc.ok()) return invoker_desc.status();
  auto function_desc = DescribeFunctionCached(function);
  if (!function_desc.ok()) return function_desc.status();
  uint64_t key = Key(**invoker_desc, **function_desc);

  static absl::Mutex mu(absl::kConstInit);
  static auto* records = new absl::flat_hash_map<uint64_t, std::unique_ptr<FunctionRecord>>();
  absl::MutexLock lock(&mu);
  auto& record = (*records)[key];
  if (record == nullptr) {
    FunctionDescriptor inv = **invoker_desc;
    FunctionDescriptor fn = **function_desc;
    inv.module_path.clear();  // for messages only: saves bytes on the wire
    fn.module_path.clear();
    record = std::make_unique<FunctionRecord>(
        FunctionRecord{std::move(inv), std::move(fn), (*function_desc)->name});
  }
  DescribedFunction described{key, record.get()};
  cache.emplace(pair, described);
  return described;
}

absl::StatusOr<ResolvedFunction> ResolveTaskFunction(const FunctionRecord& record) {
  auto invoker = ResolveFunction(record.invoker);
  if (!invoker.ok()) return invoker.status();
  auto function = ResolveFunction(record.function);
  if (!function.ok()) return function.status();
  return ResolvedFunction{reinterpret_cast<Invoker>(const_cast<void*>(*invoker)), *function,
                          record.name};
}

}  // namespace ray::core
