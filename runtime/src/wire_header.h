// The fixed-size front of a request, readable without decoding the operations. A forwarding
// hop only needs the target and the budget, so it peeks them here and passes the message on
// as it is, with the budget rewritten in place.
#pragma once

#include <cstdint>
#include <cstring>
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

// The hello: what a link (NodeLink) sends first on every new connection, and what the server
// answers itself, with an empty reply, without handing it on. It tells the server that the
// connection is a peer of the tree (a parent, the controller) and not a stranger that connected
// and said nothing: only connections that sent a hello or a request count as upstream peers, and
// the others are the first to be closed when connections run short (server.h). u32 magic, u8 3.
inline constexpr std::size_t kHelloBytes = 5;
inline constexpr std::uint8_t kHelloKind = 3;

inline void WriteHello(std::uint8_t* out) {
  std::memcpy(out, &kWireMagic, 4);
  out[4] = kHelloKind;
}

inline bool IsHello(std::span<const std::uint8_t> b) {
  if (b.size() != kHelloBytes || b[4] != kHelloKind) return false;
  std::uint32_t magic;
  std::memcpy(&magic, b.data(), 4);
  return magic == kWireMagic;
}

}  // namespace arbor
