#include "ray/core_worker/function_registry.h"

#include <deque>
#include <string>
#include <vector>

namespace ray::core {
namespace {

// Filled by static initializers (one thread), read after they have run. Leaked on purpose.
struct Table {
  std::deque<std::string> names;  // the entries' strings (a deque: they point into it)
  std::vector<RegisteredFunction> entries;
};
Table& ThisModuleTable() {
  static auto* const table = new Table;
  return *table;
}

}  // namespace

void RegisterFunction(RegisteredFunction entry) {
  Table& table = ThisModuleTable();
  entry.name = table.names.emplace_back(entry.name).c_str();
  entry.actor_type = table.names.emplace_back(entry.actor_type).c_str();
  entry.first_arg =
      table.names.emplace_back(std::string(entry.first_arg, entry.first_arg_size)).data();
  table.entries.push_back(entry);
}

}  // namespace ray::core

void ray_use_runtime_of(ray::core::RuntimeSource runtime, ray::core::EpochSource epoch,
                        ray::core::NodeIdSource node_id, ray::core::ActorState* actor_state) {
  ray::core::UseRuntimeOf(runtime, epoch, node_id);
  ray::core::UseActorStateOf(actor_state);
}

const ray::core::RegisteredFunction* ray_registered_functions(size_t* count) {
  const auto& entries = ray::core::ThisModuleTable().entries;
  *count = entries.size();
  return entries.data();
}
