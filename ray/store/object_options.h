// How the store keeps an object (chosen by its creator).
#pragma once

namespace ray::store {

struct ObjectOptions {
  // Evictable objects (caches) make room for new ones, least recently used first. Others stay
  // until their creator or the store's owner deletes them: when the store is full of them,
  // creating one more fails with ObjectStoreFull.
  bool evictable = false;
};

}  // namespace ray::store
