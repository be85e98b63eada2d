// A program built against the installed libray, without Bazel, for package_test.sh: in the
// cluster RAY_ADDRESS names, plain unregistered functions run on the node that has the resource
// "remote_box". Prints their results, that node's ID and the library's version.
#include <cstdio>
#include <string>

#include "ray/api.h"

int Add(int a, int b) { return a + b; }

std::string NodeId() { return ray::GetRuntimeContext().GetNodeId(); }

int main() {
  ray::Init({.num_workers = 1});  // joins the cluster of RAY_ADDRESS
  const ray::TaskOptions on_remote = {.resources = {{"remote_box", 1}}};
  auto sum = ray::Remote(Add).Options(on_remote)(20, 22);
  auto node = ray::Remote(NodeId).Options(on_remote)();
  auto chained = ray::Remote(Add).Options(on_remote)(sum, 8);  // an argument made on that node
  std::printf("sum %d chained %d on node %s; version %s\n", sum.Get(), chained.Get(),
              node.Get().c_str(), ray::Version());
  ray::Shutdown();
  return 0;
}
