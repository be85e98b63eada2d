// An actor host (docs/CLUSTER.md, "Actor hosts"): the user's program, started by the head's node
// in host mode (ClusterHead.actorHost, with kActorHostHeadEnv) to own what must outlive the
// drivers of that program (their detached actors). There ray::Init / ray.init do not return to
// the program's code: the process joins the cluster as a driver would (its own node, store and
// scheduler, its program shipped, a listener for its workers and for other drivers), but its node
// offers no CPUs (its actors and tasks run on the other nodes); it registers at the head as the
// host of its program, tells its node so on its ready pipe, and serves until the head is gone.
// It dies with the head's node (PR_SET_PDEATHSIG, as the node's workers), never with a driver.
#pragma once

#include "ray/core_worker/session_options.h"

namespace ray::core {

// If the head's node started this process as an actor host, runs it and exits (never returns);
// else returns at once. `options`: the program's own session options (its store's size, how its
// workers run on other nodes); the host sets the address, no CPUs and no workers of its own.
void RunIfActorHost(const SessionOptions& options);

}  // namespace ray::core
