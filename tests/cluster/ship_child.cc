// A program that ships itself after deleting its own file, for program_ship_test:
//   ship_child HOST:PORT TOKEN   removes the file it runs from, uploads its program to the head
//                                there and prints "program <key>"
//   ship_child --print           prints "the shipped child runs" (what its fetched copy is run
//                                with)
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "ray/cluster/head_client.h"
#include "ray/cluster/program_image.h"

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--print") == 0) {
    printf("the shipped child runs\n");
    return 0;
  }
  if (argc != 3) {
    fprintf(stderr, "usage: ship_child HOST:PORT TOKEN | ship_child --print\n");
    return 2;
  }
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return 1;
  self[n] = '\0';
  if (unlink(self) != 0 || access(self, F_OK) == 0) {
    fprintf(stderr, "ship_child: cannot remove %s: %s\n", self, strerror(errno));
    return 1;
  }
  auto image = ray::cluster::CurrentProgram();
  if (!image.ok()) {
    fprintf(stderr, "ship_child: %s\n", image.status().ToString().c_str());
    return 1;
  }
  auto client = ray::cluster::HeadClient::Connect(argv[1], {.token = argv[2]});
  absl::Status status = client.ok() ? (*client)->UploadProgram(*image) : client.status();
  if (!status.ok()) {
    fprintf(stderr, "ship_child: %s\n", status.ToString().c_str());
    return 1;
  }
  printf("program %s\n", image->key.c_str());
  return 0;
}
