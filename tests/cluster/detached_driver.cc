// A driver of a cluster for detached_actor_test: each run is a driver of its own, of the same
// program, so the detached actors of one are found by the next (they live in the cluster's actor
// host, which this program's first driver started).
//   detached_driver ADDRESS create NAME START   makes a detached Tally named NAME, adds 1 to it,
//                                                prints "made <value> <pid>" and exits
//   detached_driver ADDRESS use NAME X          finds NAME, adds X, prints "found <value> <pid>"
//                                                (or "none") and exits
//   detached_driver ADDRESS kill NAME           finds NAME and kills it; prints "killed"
//   detached_driver ADDRESS refs NAME           calls NAME with an ObjectRef argument and with a
//                                                1 MiB result; prints "refs <sum> <size>"
//   detached_driver ADDRESS tasks NAME          calls NAME from tasks: through a handle passed in
//                                                (adds 100), found by name there (adds 1000);
//                                                prints "tasks <sum> <sum>", then what making a
//                                                detached actor in a task says
// With DETACHED_DRIVER_BARRIER=FIFO and DETACHED_DRIVER_READY=FOLDER, a driver waits once it has
// joined: it opens FIFO, makes the file FOLDER/<pid>, and reads FIFO to its end, which the test
// brings to all the drivers at once (it holds FIFO open until they all wait).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "ray/api.h"

namespace {

class Tally {
 public:
  explicit Tally(int64_t start) : value_(start) {}
  int64_t Add(int64_t x) { return value_ += x; }
  int Pid() const { return getpid(); }
  std::string Blob(int64_t bytes) const { return std::string(bytes, 'x'); }

 private:
  int64_t value_;
};

Tally MakeTally(int64_t start) { return Tally(start); }

int64_t AddThrough(ray::ActorHandle<Tally> tally, int64_t x) {
  return tally.Task(&Tally::Add).Remote(x).Get();
}

int64_t AddByName(std::string name, int64_t x) {
  return ray::GetActor<Tally>(name)->Task(&Tally::Add).Remote(x).Get();
}

std::string MakeDetachedInTask(std::string name) {
  try {
    ray::Actor(MakeTally)
        .Options({.name = name, .lifetime = ray::ActorLifetime::kDetached})
        .Remote(0)
        .Task(&Tally::Add)
        .Remote(1)
        .Get();
    return "made";
  } catch (const ray::RayError& e) {
    return e.what();
  }
}

// Waits at the barrier the environment names, if any (see the top).
void AwaitBarrier() {
  const char* fifo = std::getenv("DETACHED_DRIVER_BARRIER");
  const char* ready = std::getenv("DETACHED_DRIVER_READY");
  if (fifo == nullptr || ready == nullptr) return;
  int fd = open(fifo, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    perror("detached_driver: the barrier");
    return;
  }
  std::ofstream(std::string(ready) + "/" + std::to_string(getpid())) << "waiting\n";
  char c;
  while (read(fd, &c, 1) > 0) {
  }
  close(fd);
}

int Usage() {
  fprintf(stderr, "usage: detached_driver ADDRESS create|use|kill|refs|tasks NAME [N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return Usage();
  const std::string mode = argv[2], name = argv[3];
  const int64_t n = argc > 4 ? std::stoll(argv[4]) : 0;
  ray::Init({.num_workers = 1, .object_store_memory = 64 << 20, .address = argv[1]});
  AwaitBarrier();
  if (mode == "create") {
    auto tally = ray::Actor(MakeTally)
                     .Options({.name = name, .lifetime = ray::ActorLifetime::kDetached})
                     .Remote(n);
    int64_t value = tally.Task(&Tally::Add).Remote(1).Get();
    printf("made %lld %d\n", static_cast<long long>(value), tally.Task(&Tally::Pid).Remote().Get());
  } else if (mode == "use" || mode == "kill" || mode == "refs" || mode == "tasks") {
    std::optional<ray::ActorHandle<Tally>> found = ray::GetActor<Tally>(name);
    if (!found) {
      printf("none\n");
    } else if (mode == "use") {
      int64_t value = found->Task(&Tally::Add).Remote(n).Get();
      printf("found %lld %d\n", static_cast<long long>(value),
             found->Task(&Tally::Pid).Remote().Get());
    } else if (mode == "kill") {
      found->Kill();
      printf("killed\n");
    } else if (mode == "tasks") {
      int64_t through = ray::Remote(AddThrough)(*found, 100).Get();
      int64_t by_name = ray::Remote(AddByName)(name, 1000).Get();
      printf("tasks %lld %lld\n", static_cast<long long>(through), static_cast<long long>(by_name));
      printf("%s\n", ray::Remote(MakeDetachedInTask)(name + "-inner").Get().c_str());
    } else {
      ray::ObjectRef<int64_t> ten = ray::Put(int64_t{10});
      int64_t sum = found->Task(&Tally::Add).Remote(ten).Get();
      std::string blob = found->Task(&Tally::Blob).Remote(1 << 20).Get();
      printf("refs %lld %zu\n", static_cast<long long>(sum), blob.size());
    }
  } else {
    ray::Shutdown();
    return Usage();
  }
  fflush(stdout);
  ray::Shutdown();
  return 0;
}
