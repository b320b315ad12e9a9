// Control messages: the typed arguments and replies of the runtime's own verbs (arbor.*).
//
// A control op carries one encoded argument (args[0]) and answers with one encoded reply (the
// result text), both in the wire codec's primitives, so no side takes text apart with substr
// or stol: a malformed message is a Status, never an exception on a worker thread. Replies
// that a person reads (arbor.info, as `info`) stay text.
//
//   arbor.spawn    SpawnArgs     -> SpawnedReply    start a child (the parent's side of create)
//   arbor.remove   NodeId        -> (empty)         stop a child and its subtree
//   arbor.adopt    AdoptArgs     -> (empty)         take back a cut-off child
//   arbor.attach   AttachArgs    -> Identity        an external node joins under a parent
//   arbor.identify (none)        -> Identity        who listens here (recovering children)
//   arbor.sweep    (none)        -> SweepReply      this node and everything below it
//   arbor.shutdown (none)        -> (empty)
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "arbor/message.h"
#include "arbor/result.h"

namespace arbor {

inline constexpr std::string_view kSpawnVerb = "arbor.spawn";
inline constexpr std::string_view kRemoveVerb = "arbor.remove";
inline constexpr std::string_view kAdoptVerb = "arbor.adopt";
inline constexpr std::string_view kAttachVerb = "arbor.attach";
inline constexpr std::string_view kIdentifyVerb = "arbor.identify";
inline constexpr std::string_view kSweepVerb = "arbor.sweep";
inline constexpr std::string_view kShutdownVerb = "arbor.shutdown";
inline constexpr std::string_view kInfoVerb = "arbor.info";
// arbor.info's one argument for the node's headroom (headroom.h) instead of its identity.
inline constexpr std::string_view kInfoLimits = "limits";

struct SpawnArgs {
  NodeId id = 0;
  std::string host;  // where the child runs; empty when the deployment has no hosts
  // Set when the controller has started the child itself (a node on an ssh host, whose
  // session must hang on the controller's lifeline, not on this parent): dial it there.
  std::string url;
  std::int64_t pid = 0;
};
struct SpawnedReply {
  std::int64_t pid = 0;  // on the child's host (the caller chose the host)
};
struct AdoptArgs {
  NodeId id = 0;
  std::string url;
  std::int64_t pid = 0;
  std::string host;
};
struct AttachArgs {
  std::string digest;  // ConfigDigest() of the parent's config
  NodeId parent_id = 0;
  std::string parent_host;
};
struct Identity {
  NodeId id = 0;
  std::int64_t pid = 0;
  std::string host;
  std::string digest;
};
// What a node says of one of its children.
struct ChildReport {
  NodeId id = 0;
  std::string state;  // up, down, restarting
  std::int64_t restarts = 0;
  std::int64_t pid = 0;
  std::string host;
};
struct SweepEntry {
  NodeId id = 0;
  std::int64_t pid = 0;
  std::string host;
  std::vector<ChildReport> children;
};

std::string Encode(const SpawnArgs& m);
std::string Encode(const SpawnedReply& m);
std::string Encode(const AdoptArgs& m);
std::string Encode(const AttachArgs& m);
std::string Encode(const Identity& m);
std::string EncodeNodeId(NodeId id);
// One self-delimiting entry: a sweep reply is the concatenation of its nodes' entries, so a
// node appends its children's replies to its own entry without decoding them.
std::string Encode(const SweepEntry& m);

Result<SpawnArgs> DecodeSpawnArgs(std::string_view bytes);
Result<SpawnedReply> DecodeSpawnedReply(std::string_view bytes);
Result<AdoptArgs> DecodeAdoptArgs(std::string_view bytes);
Result<AttachArgs> DecodeAttachArgs(std::string_view bytes);
Result<Identity> DecodeIdentity(std::string_view bytes);
Result<NodeId> DecodeNodeId(std::string_view bytes);
Result<std::vector<SweepEntry>> DecodeSweep(std::string_view bytes);

}  // namespace arbor
