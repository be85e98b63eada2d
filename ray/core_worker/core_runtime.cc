#include "ray/core_worker/core_runtime.h"

#include <atomic>

namespace ray::core {
namespace {
std::atomic<CoreRuntime*> current_runtime{nullptr};
std::atomic<uint64_t> current_epoch{1};
std::atomic<RuntimeSource> runtime_source{nullptr};  // see UseRuntimeOf
std::atomic<EpochSource> epoch_source{nullptr};
std::atomic<NodeIdSource> node_id_source{nullptr};
std::string* const this_node_id = new std::string;  // leaked: see ARCHITECTURE.md
}  // namespace

const std::string& ThisNodeId() {
  if (!this_node_id->empty()) return *this_node_id;
  NodeIdSource source = node_id_source.load(std::memory_order_acquire);
  return source != nullptr ? source() : *this_node_id;
}

void SetThisNodeId(const std::string& id) { *this_node_id = id; }

CoreRuntime* CurrentRuntime() {
  CoreRuntime* runtime = current_runtime.load(std::memory_order_acquire);
  if (runtime != nullptr) return runtime;
  RuntimeSource source = runtime_source.load(std::memory_order_acquire);
  return source != nullptr ? source() : nullptr;
}

void SetCurrentRuntime(CoreRuntime* runtime) {
  CoreRuntime* old = current_runtime.exchange(runtime, std::memory_order_acq_rel);
  if (old != runtime) current_epoch.fetch_add(1, std::memory_order_acq_rel);
}

uint64_t CurrentRuntimeEpoch() {
  if (current_runtime.load(std::memory_order_acquire) == nullptr) {
    if (EpochSource source = epoch_source.load(std::memory_order_acquire)) return source();
  }
  return current_epoch.load(std::memory_order_acquire);
}

void UseRuntimeOf(RuntimeSource runtime, EpochSource epoch, NodeIdSource node_id) {
  if (runtime == &CurrentRuntime) return;  // this very copy: it would call itself
  node_id_source.store(node_id, std::memory_order_release);
  epoch_source.store(epoch, std::memory_order_release);
  runtime_source.store(runtime, std::memory_order_release);
}

}  // namespace ray::core
