// The computation graph of a driver: every task submitted (from the driver or inside tasks),
// who launched it, the objects it reads and returns, and how it ended.
#pragma once

#include <string>

namespace ray {

// Writes the graph as the Ray tutorial draws it: tasks are boxes, objects ovals, dotted edges
// from a task to the tasks it launched ("op-root" is the driver), solid edges for data; failed
// tasks in red. By the extension of `path`: ".dot" writes Graphviz source; ".svg" and ".png"
// render it with Graphviz. Past a few hundred nodes, identical sibling tasks fold into one box
// with a count. Throws ray::RayError if it cannot (no graph recorded, bad path, no Graphviz).
void VisualizeComputationGraph(const std::string& path);

// Writes a Chrome trace (JSON, one row per worker, one slice per task) that opens in Perfetto
// or chrome://tracing. Throws ray::RayError if it cannot.
void Timeline(const std::string& path);

}  // namespace ray
