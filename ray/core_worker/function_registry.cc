#include "ray/core_worker/function_registry.h"

#include <dlfcn.h>

#include <deque>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ray/common/library_version.h"

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

absl::StatusOr<std::span<const RegisteredFunction>> ReadRegisteredFunctions(
    void* handle, const std::string& path) {
  auto accessor =
      reinterpret_cast<RegisteredFunctionsAccessor>(dlsym(handle, kRegisteredFunctionsSymbol));
  if (accessor == nullptr) return std::span<const RegisteredFunction>();
  auto stamp = reinterpret_cast<RegisteredFunctionsLayoutFunction>(
      dlsym(handle, kRegisteredFunctionsLayoutSymbol));
  const std::string ours = absl::StrCat("this libray is ", RAY_LIBRARY_VERSION, " (layout ",
                                        kRegisteredFunctionsLayout, ")");
  if (stamp == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " was built against another libray: its table of C++ functions has no layout stamp (",
        kRegisteredFunctionsLayoutSymbol, "), and ", ours, "; rebuild it against this libray"));
  }
  const char* version = nullptr;
  const uint32_t layout = stamp(&version);
  if (layout != kRegisteredFunctionsLayout) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " was built against libray ", version ? version : "(unknown)", " (layout ", layout,
        "), and ", ours,
        ": its table of C++ functions cannot be read; rebuild it against this libray"));
  }
  size_t count = 0;
  const RegisteredFunction* entries = accessor(&count);
  return std::span<const RegisteredFunction>(entries, entries ? count : 0);
}

}  // namespace ray::core

uint32_t ray_registered_functions_layout(const char** libray_version) {
  *libray_version = RAY_LIBRARY_VERSION;
  return ray::core::kRegisteredFunctionsLayout;
}

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
