#include "ray/core_worker/function_registry.h"

#include <deque>
#include <string>
#include <vector>

namespace ray::core {
namespace {

// Filled by static initializers (one thread), read after they have run. Leaked on purpose.
struct Table {
  std::deque<std::string> names;  // a deque: the entries point into it
  std::vector<RegisteredFunction> entries;
};
Table& ThisModuleTable() {
  static auto* const table = new Table;
  return *table;
}

}  // namespace

void RegisterFunction(const char* name, Invoker invoker, const void* function, uint32_t num_args,
                      uint32_t num_returns) {
  Table& table = ThisModuleTable();
  table.names.emplace_back(name);
  table.entries.push_back({table.names.back().c_str(), invoker, function, num_args, num_returns});
}

}  // namespace ray::core

void ray_use_runtime_of(ray::core::RuntimeSource runtime, ray::core::EpochSource epoch,
                        ray::core::NodeIdSource node_id) {
  ray::core::UseRuntimeOf(runtime, epoch, node_id);
}

const ray::core::RegisteredFunction* ray_registered_functions(size_t* count) {
  const auto& entries = ray::core::ThisModuleTable().entries;
  *count = entries.size();
  return entries.data();
}
