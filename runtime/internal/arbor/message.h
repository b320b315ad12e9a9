// The wire message: what one hop sends to the next.
//
// A Request addresses one node (`target`) and carries one or more operations (verb + arguments)
// that the target runs in order. Carrying several operations in one message is how arbor keeps
// commands to the same node in order while amortising a round trip over many of them.
// A Reply carries one OpResult per operation, or, when the request never reached a node that
// could run it, a route status that applies to all of them (unavailable, not found).
//
// Every request carries a time budget in milliseconds. Each hop turns it into a local deadline
// on receipt and forwards what remains, so a hung node costs one deadline, not one per hop, and
// the scheme needs no synchronised clocks.
//
// Encoding is little-endian, length-prefixed, versioned by a magic number. Decode validates
// every length against the buffer and the limits below; garbage yields a Status, never a crash.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "arbor/node_id.h"
#include "arbor/result.h"
#include "arbor/status.h"

namespace arbor {

// A whole decimal 64-bit integer: no sign-only, no spaces, no trailing characters.
std::optional<NodeId> ParseNodeId(std::string_view text);

inline constexpr std::uint32_t kWireMagic = 0x31425241;  // "ARB1"
inline constexpr std::size_t kMaxOpsPerRequest = 4096;
inline constexpr std::size_t kMaxArgsPerOp = 64;
inline constexpr std::size_t kMaxStringBytes = 64 * 1024;

struct Op {
  std::string verb;
  std::vector<std::string> args;
};

struct Request {
  std::uint64_t id = 0;           // chosen by the sender; kept unchanged across hops for tracing
  NodeId target = 0;
  std::uint32_t budget_ms = 0;    // time left until the deadline when this hop sent it
  std::vector<Op> ops;
};

struct OpResult {
  Status status;     // OK, or why this operation failed
  std::string text;  // the answer text on success (may be empty)
};

struct Reply {
  std::uint64_t id = 0;
  Status route;                   // not OK: no operation ran (node unavailable, not found...)
  std::vector<OpResult> results;  // one per op when route is OK
};

std::string EncodeRequest(const Request& request);
std::string EncodeReply(const Reply& reply);
Result<Request> DecodeRequest(std::span<const std::uint8_t> bytes);
Result<Reply> DecodeReply(std::span<const std::uint8_t> bytes);

// InvalidArgument when `request` breaks a limit DecodeRequest enforces (so the receiver would
// call it malformed); checked by senders so the user gets the reason, not a protocol error.
Status CheckRequestLimits(const Request& request);

// A reply that says no operation of `request_id` ran, for `why`.
Reply RouteFailure(std::uint64_t request_id, Status why);

}  // namespace arbor
