// Batches: commands for many targets in one message, split by route at every hop.
//
// The controller sends the root one batch holding every queued command, grouped by target. A
// node runs the groups meant for itself and forwards the rest as one sub-batch per child, built
// by copying the groups' bytes as they arrived (nothing is re-encoded on the way down). The
// answers are merged on the way back, so a batch costs one message per hop and direction however
// many targets it touches.
//
// A reply may be partial, so that a hung or slow subtree holds back only its own commands. A
// node answers once every part of its batch is in (its own operations, each child's sub-batch),
// or a short linger after the first part came in while others are still out. What it cannot
// answer yet it *holds*: the reply names a token, and a collect with that token, sent to the
// same node over the same hop, answers the held commands as they come in (at once when some are
// ready, else at the next that is). A node collects from its own children the same way, so a
// requester only ever talks to the node it sent the batch to. This keeps req/rep's one reply per
// request and needs no reply path from a deep node to the controller; the price is one more
// round trip, paid only by a batch that has a straggler. A reply never exceeds
// max_message_bytes either: answers that do not fit are held and collected like late ones.
//
// Layout (little-endian; str = u32 length + bytes):
//   batch:       u32 magic, u8 kind=4, u64 id, u32 budget_ms, u32 ngroups,
//                ngroups x { i64 target, u64 epoch, u64 seq, u32 nops,
//                            nops x { str verb, u32 nargs, nargs x str } }
//   collect:     u32 magic, u8 kind=6, u64 id, u32 budget_ms, u64 token
//   batch reply: u32 magic, u8 kind=5, u64 id, u8 route_code, str route_message, u64 held,
//                u32 nentries, nentries x { u32 index, u8 ran, u8 code, str text }
// A group's epoch and seq fence it (fence.h): its operations are numbered seq, seq+1, ... in the
// sender's epoch, and the target refuses a group older than one it has already admitted.
// Epoch 0 means unfenced (admitted as it comes, in no particular order with the others).
// An operation's index is its position in the batch, counting across groups. A reply answers
// each index at most once. An index it leaves out is held under `held`; when `held` is 0 nothing
// is held, and an index never answered is lost (the requester says so). A route status other
// than OK applies to every index the reply leaves out: none of those ran, or all were lost.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "arbor/message.h"

namespace arbor {

inline constexpr std::uint8_t kKindBatch = 4;
inline constexpr std::uint8_t kKindBatchReply = 5;
inline constexpr std::uint8_t kKindCollect = 6;
// Operations in one batch, across all its groups.
inline constexpr std::size_t kMaxBatchOps = 65536;
// The fixed front of a batch reply with an empty route message, and of one entry before its text.
inline constexpr std::size_t kBatchReplyHeaderBytes = 4 + 1 + 8 + 1 + 4 + 8 + 4;
inline constexpr std::size_t kBatchEntryHeaderBytes = 4 + 1 + 1 + 4;

// The wire kind of a message (the byte after the magic), or nullopt when it is not arbor's.
std::optional<std::uint8_t> PeekKind(std::span<const std::uint8_t> bytes);

// Where a group stands in its sender's order of commands to its target (fence.h).
struct GroupSeq {
  std::uint64_t epoch = 0;  // the sender's incarnation; 0: unfenced
  std::uint64_t seq = 0;    // the number of the group's first operation
};

struct BatchGroup {
  NodeId target = 0;
  std::vector<Op> ops;
  GroupSeq order;
};

struct BatchRequest {
  std::uint64_t id = 0;
  std::uint32_t budget_ms = 0;
  std::vector<BatchGroup> groups;
};

struct BatchEntry {
  std::uint32_t index = 0;
  bool ran = true;  // false: the route failed and the operation did not run (status says why)
  OpResult result;
};

struct BatchReply {
  std::uint64_t id = 0;
  Status route;
  std::uint64_t held = 0;  // nonzero: the indices this reply leaves out wait under this token
  std::vector<BatchEntry> entries;
};

struct Collect {
  std::uint64_t id = 0;
  std::uint32_t budget_ms = 0;
  std::uint64_t token = 0;
};

// A received batch, checked from end to end but with its groups left as bytes: a hop decodes
// only the operations it runs, and forwards the others by copying.
struct GroupSpan {
  NodeId target = 0;
  GroupSeq order;
  std::uint32_t first = 0;  // index of its first operation in the batch
  std::uint32_t nops = 0;
  std::span<const std::uint8_t> bytes;  // from the target to the end of the last operation
};

struct BatchView {
  std::uint64_t id = 0;
  std::uint32_t budget_ms = 0;
  std::uint32_t nops = 0;
  std::vector<GroupSpan> groups;  // point into the scanned bytes
};

std::string EncodeBatch(const BatchRequest& request);
// Checks every length and limit (as DecodeRequest does); garbage yields a Status.
Result<BatchView> ScanBatch(std::span<const std::uint8_t> bytes);
// The operations of a group that ScanBatch accepted.
std::vector<Op> DecodeGroupOps(const GroupSpan& group);
// A batch of `groups` (from one ScanBatch), with a new budget: its size, and the bytes.
std::size_t SubBatchSize(std::span<const GroupSpan* const> groups);
void WriteSubBatch(std::uint8_t* out, std::uint64_t id, std::uint32_t budget_ms,
                   std::span<const GroupSpan* const> groups);
// Where a batch's budget sits, for a hop that forwards the whole batch unchanged.
void PatchBatchBudget(std::span<std::uint8_t> bytes, std::uint32_t budget_ms);

std::string EncodeBatchReply(const BatchReply& reply);
Result<BatchReply> DecodeBatchReply(std::span<const std::uint8_t> bytes);

// A batch reply checked from end to end (as DecodeBatchReply does), its entries left as bytes:
// a hop passes its children's answers up by copying them, with only the index rewritten.
struct EntrySpan {
  std::uint32_t index = 0;
  std::span<const std::uint8_t> bytes;  // the whole entry, index included
};
struct BatchReplyView {
  std::uint64_t id = 0;
  Status route;
  std::uint64_t held = 0;
  std::vector<EntrySpan> entries;
};
Result<BatchReplyView> ScanBatchReply(std::span<const std::uint8_t> bytes);
// Appends one encoded entry to `out`: a new one, or a scanned one under another index.
void AppendEntry(std::string& out, std::uint32_t index, bool ran, const OpResult& result);
void AppendEntry(std::string& out, const EntrySpan& entry, std::uint32_t index);
// The front of a batch reply whose `n` entries are `entry_bytes` long; they follow it.
std::string BatchReplyFront(std::uint64_t id, const Status& route, std::uint64_t held,
                            std::uint32_t n);
// The `held` field of an encoded batch reply, without reading its entries (nullopt: not a batch
// reply, or too short to say): a hop that passes a reply up unchanged needs only this.
std::optional<std::uint64_t> PeekBatchReplyHeld(std::span<const std::uint8_t> bytes);
// What `entry` adds to an encoded batch reply.
inline std::size_t EntryBytes(const BatchEntry& e) {
  return kBatchEntryHeaderBytes + (e.result.status.ok() ? e.result.text.size()
                                                        : e.result.status.message().size());
}

std::string EncodeCollect(const Collect& collect);
Result<Collect> DecodeCollect(std::span<const std::uint8_t> bytes);

// InvalidArgument when `request` breaks a limit ScanBatch enforces, with the reason.
Status CheckBatchLimits(const BatchRequest& request);

}  // namespace arbor
