#include "ray/api/graph.h"

#include "ray/api/errors.h"
#include "ray/api/init.h"
#include "ray/api/internal/status.h"
#include "ray/core_worker/core_runtime.h"
#include "ray/observability/task_graph.h"

namespace ray {
namespace {

core::TaskGraph::Snapshot Snapshot(const char* api) {
  core::CoreRuntime* runtime = core::CurrentRuntime();
  if (runtime == nullptr) throw RayError(std::string(api) + ": call ray::Init first");
  auto snapshot = runtime->GraphSnapshot();
  if (!snapshot) {
    throw RayError(std::string(api) +
                   ": this runtime records no graph (only a driver does, with "
                   "InitOptions.record_task_graph and without local_mode)");
  }
  return *std::move(snapshot);
}

void Check(const absl::Status& status, const char* api) {
  if (!status.ok()) internal::ThrowCallError(api, status);
}

}  // namespace

void VisualizeComputationGraph(const std::string& path) {
  const char* api = "ray::VisualizeComputationGraph";
  Check(core::WriteGraph(Snapshot(api), path), api);
}

void Timeline(const std::string& path) {
  const char* api = "ray::Timeline";
  Check(core::WriteTimeline(Snapshot(api), path), api);
}

}  // namespace ray
