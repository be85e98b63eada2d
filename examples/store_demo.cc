// A first look at libray's object store: start a ray_store, put objects, read them back from
// shared memory, and see a large object come back without a copy.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "ray/store/client.h"
#include "ray/store/store_launcher.h"

using ray::ObjectID;
using ray::store::StoreClient;

int main() {
  std::string socket = "/tmp/ray-demo-" + std::to_string(getpid()) + ".sock";
  auto store = ray::store::StoreProcess::Start("ray/store/ray_store", socket, {"--capacity=512M"});
  if (!store.ok()) {
    std::fprintf(stderr, "could not start the store: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto client = StoreClient::Connect(socket);
  if (!client.ok()) {
    std::fprintf(stderr, "could not connect: %s\n", client.status().ToString().c_str());
    return 1;
  }
  std::printf("ray_store running as pid %d, capacity %llu MiB\n", store->pid(),
              static_cast<unsigned long long>((*client)->capacity() >> 20));

  // Put and get, as ray.put / ray.get: x_id = put([1, 2, 3]); get(x_id) -> [1, 2, 3]
  std::vector<int> x = {1, 2, 3};
  ObjectID x_id = ObjectID::FromRandom();
  (void)(*client)->Put(x_id, {reinterpret_cast<const uint8_t*>(x.data()), x.size() * sizeof(int)});
  auto got = (*client)->Get(x_id);
  const int* values = reinterpret_cast<const int*>(got->data());
  std::printf("put %s -> get [%d, %d, %d]\n", x_id.Hex().substr(0, 12).c_str(), values[0],
              values[1], values[2]);

  // A list of objects: result_ids = [put(i) for i in range(10)]; get(result_ids)
  std::vector<ObjectID> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(ObjectID::FromRandom());
    (void)(*client)->Put(ids.back(), {reinterpret_cast<const uint8_t*>(&i), sizeof(i)});
  }
  std::printf("get of 10 objects -> [");
  auto buffers = (*client)->Get(ids, absl::Seconds(5));
  for (size_t i = 0; i < buffers.size(); ++i) {
    std::printf("%s%d", i ? ", " : "", *reinterpret_cast<const int*>(buffers[i]->data()));
  }
  std::printf("]\n");

  // A 256 MiB object: the get maps store memory, it copies nothing.
  size_t big = 256 << 20;
  ObjectID big_id = ObjectID::FromRandom();
  auto object = (*client)->Create(big_id, big);
  std::iota(object->data(), object->data() + 4096, 0);
  (void)(*client)->Seal(*std::move(object));
  (void)(*client)->Flush();  // the seal has reached the store
  auto start = std::chrono::steady_clock::now();
  auto view = (*client)->Get(big_id);
  auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start);
  std::printf("get of a %zu MiB object took %.1f us (a view of store memory, no copy)\n", big >> 20,
              us.count());
  auto stats = (*client)->Stats();
  std::printf("store holds %u objects, %llu MiB in use\n", stats->objects,
              static_cast<unsigned long long>(stats->used >> 20));
  return 0;
}
