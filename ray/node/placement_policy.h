// Which node of a cluster a ready task goes to: a pure function of the task's demand and a view
// of the nodes (what each has, what is free of it, how many of the task's argument bytes its
// store holds). No I/O, no clock, no locks. On one node the scheduler does not ask.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ray/common/resources.h"

namespace ray::core {

// What a task holds while it runs.
struct ResourceDemand {
  double cpus = 1;
  std::span<const std::pair<std::string, double>> custom;  // named resources
};

// A node as placement sees it.
struct NodeView {
  bool usable = false;                    // alive, and able to run this scheduler's workers
  const std::string* lost_why = nullptr;  // when not usable any more: why (for errors)
  double cpus_total = 0;
  double cpus_free = 0;  // less what the tasks already placed on it and not started ask
  const ResourceMap* custom_total = nullptr;
  const ResourceMap* custom_free = nullptr;  // less the same
  uint64_t argument_bytes = 0;               // of the task's arguments in the node's store
};

struct Placement {
  enum class Kind {
    kNode,        // place it on `node`
    kWait,        // every node that could run it is full now
    kInfeasible,  // no node has what it asks for (`missing` says what)
  };
  Kind kind = Kind::kWait;
  int node = -1;
  std::string missing;
};

class PlacementPolicy {
 public:
  // The node for a task asking `demand`:
  // - feasible nodes are usable ones with every custom resource it asks in their totals (a task
  //   asking more CPUs than a node has runs there alone, as on one node), and CPUs if it asks
  //   any (a node of no CPUs, as an actor host's, runs only tasks that ask none);
  // - among those with the room now, the one holding most of its argument bytes, else the
  //   first (the scheduler's own node comes first), else the one with most CPUs free;
  // - kWait when none has the room, kInfeasible when none is feasible.
  Placement Place(const ResourceDemand& demand, std::span<const NodeView> nodes) const;

  // CPUs a task asking `cpus` holds on a node of `cpus_total`.
  static double CpusOn(double cpus, double cpus_total) {
    return cpus < cpus_total ? cpus : cpus_total;
  }
  // Whether `have` covers each of `custom` (within float slack).
  static bool Covers(const ResourceMap* have,
                     std::span<const std::pair<std::string, double>> custom);
};

}  // namespace ray::core
