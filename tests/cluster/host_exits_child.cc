// A program whose actor host cannot start (actor_host_test): as the host (the head's node runs it
// with RAY_ACTOR_HOST_HEAD set) it exits before ray::Init; as a driver (argv[1]: the cluster's
// address) it asks for its host and prints the answer.
#include <cstdio>
#include <cstdlib>

#include "ray/api.h"
#include "ray/core_worker/session.h"

int main(int argc, char** argv) {
  if (std::getenv("RAY_ACTOR_HOST_HEAD") != nullptr) {
    fprintf(stderr, "host_exits_child: no host here\n");
    return 3;
  }
  if (argc < 2) return 2;
  ray::Init({.num_workers = 1, .object_store_memory = 32 << 20, .address = argv[1]});
  auto host = ray::core::ActorHostOfCluster();
  printf("%s\n", host.ok() ? host->address.c_str() : host.status().ToString().c_str());
  ray::Shutdown();
  return host.ok() ? 1 : 0;
}
