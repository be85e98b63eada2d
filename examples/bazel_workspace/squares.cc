// A program in a Bazel workspace of its own, with libray built from source as @libray.
// Plain functions become tasks: nothing to register.
#include <cstdio>
#include <vector>

#include "ray/api.h"

int Square(int x) { return x * x; }

int Sum(std::vector<int> values) {
  int sum = 0;
  for (int v : values) sum += v;
  return sum;
}

int main() {
  ray::Init({.num_workers = 2});
  std::vector<ray::ObjectRef<int>> squares;
  for (int i = 0; i < 5; ++i) squares.push_back(ray::Remote(Square)(i));
  auto sum = ray::Remote(Sum)(squares);  // a std::vector<ObjectRef<int>> for a std::vector<int>
  std::printf("sum of squares 0..4: %d (libray %s)\n", sum.Get(), ray::Version());
  ray::Shutdown();
  return 0;
}
