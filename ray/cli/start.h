// `ray start`: runs a node (its own object store and session folder) that is the cluster's
// head or joins one, in the background (returning once it serves) or with --block in the
// foreground.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace ray::cli {

struct StartOptions {
  bool head = false;
  std::string address;  // the head's HOST:PORT, or "auto", to join (not with head)
  int port = 6379;      // the head's port; 0: any free one
  double num_cpus = 0;  // 0: the machine's cores
  std::map<std::string, double> resources;
  uint64_t object_store_memory = 0;  // 0: the default (limits.h)
  std::string node_ip_address = "127.0.0.1";
  bool block = false;
  // TLS for every connection of the node and of the workers it starts (ray/cluster/tls.h);
  // "" each: RAY_USE_TLS and RAY_TLS_* decide.
  std::string tls_cert, tls_key, tls_ca;
};

// Returns the exit code; prints what happened (how to join and connect, or the error).
int Start(const StartOptions& options);

}  // namespace ray::cli
