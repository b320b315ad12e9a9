// The fixed-size front of a request, readable without decoding the operations. A forwarding
// hop only needs the target and the budget, so it peeks them here and passes the message on
// as it is, with the budget rewritten in place.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "arbor/message.h"

namespace arbor {

inline constexpr std::size_t kRequestHeaderBytes = 25;

struct RequestHeader {
  std::uint64_t id = 0;
  NodeId target = 0;
  std::uint32_t budget_ms = 0;
};

// nullopt when the bytes do not start with a request header.
std::optional<RequestHeader> PeekRequestHeader(std::span<const std::uint8_t> bytes);
// Rewrites the budget of a buffer that PeekRequestHeader accepted.
void PatchBudget(std::span<std::uint8_t> bytes, std::uint32_t budget_ms);

}  // namespace arbor
