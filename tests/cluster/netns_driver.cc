// A driver for netns_test.sh: joins the cluster at argv[1], runs a task pinned to the resource
// argv[2] and prints the ID of the node it ran on, then reads an object that task made (copied
// across the link). Exits 0 when both worked.
#include <cstdio>
#include <string>
#include <vector>

#include "ray/api.h"

std::string WhereAmI() { return ray::GetRuntimeContext().GetNodeId(); }
std::vector<uint8_t> Bytes(int64_t n) { return std::vector<uint8_t>(n, 3); }

int main(int argc, char** argv) {
  ray::RunAsWorkerIfStarted();  // on the node, this program is its worker
  if (argc != 3) {
    fprintf(stderr, "usage: netns_driver HEAD:PORT RESOURCE\n");
    return 2;
  }
  ray::Init({.num_workers = 1, .object_store_memory = 64 << 20, .address = argv[1]});
  auto on = [&](auto f) { return ray::Remote(f).Options({.resources = {{argv[2], 1}}}); };
  std::string node = ray::Get(on(WhereAmI)());
  std::vector<uint8_t> bytes = ray::Get(on(Bytes)(8 << 20));
  bool ok = bytes.size() == (8u << 20) && bytes.front() == 3 && bytes.back() == 3;
  printf("task ran on node %s; object %s\n", node.c_str(), ok ? "copied" : "wrong");
  ray::Shutdown();
  return ok ? 0 : 1;
}
