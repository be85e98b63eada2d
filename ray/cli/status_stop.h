// `ray status` (the head's node table) and `ray stop` (every node of this user's on this
// machine).
#pragma once

#include <string>

namespace ray::cli {

// `address`: the head's HOST:PORT; "" for RAY_ADDRESS, else the latest cluster here.
int Status(const std::string& address);
// Stops each node by its PID (verified by node.pid: ours, and started when recorded): SIGTERM,
// and SIGKILL after `grace` seconds (at once with `force`); removes their folders, tokens and
// the latest-cluster record.
int Stop(bool force, int grace_seconds = 10);

}  // namespace ray::cli
