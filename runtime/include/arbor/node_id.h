// NodeId: how arbor names a node. Ids are the keys of the tree's binary search order, so any
// 64-bit integer is a valid id, negative ones included.
#pragma once

#include <cstdint>

namespace arbor {

using NodeId = std::int64_t;

}  // namespace arbor
