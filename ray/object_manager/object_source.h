// An object and where to copy it from: the object server (HOST:PORT) of a node whose store
// holds it.
#pragma once

#include <string>

#include "ray/common/id.h"

namespace ray::object_manager {

struct ObjectSource {
  ObjectID id;
  std::string address;
};

}  // namespace ray::object_manager
