// Routing: where a request for `target` goes from node `self`. This is BST descent, one hop at
// a time: the whole of arbor's routing, kept apart so that it can be tested on its own.
#pragma once

#include "arbor/message.h"

namespace arbor {

enum class Route { kSelf, kLeft, kRight };

constexpr Route RouteStep(NodeId self, NodeId target) {
  if (target == self) return Route::kSelf;
  return target < self ? Route::kLeft : Route::kRight;
}

}  // namespace arbor
