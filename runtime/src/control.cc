#include "arbor/control.h"

#include "codec.h"

namespace arbor {
namespace {

constexpr std::size_t kMaxChildren = 2;
constexpr std::size_t kMaxSweepEntries = 1 << 20;

Reader ReaderOf(std::string_view bytes) {
  return Reader({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

// The whole of `bytes` must be one message, read without a failure.
template <typename T>
Result<T> Finish(Reader& r, T value, const char* what) {
  if (!r.error().empty()) return InvalidArgument(std::string(what) + ": " + r.error());
  if (!r.AtEnd()) return InvalidArgument(std::string(what) + ": trailing bytes");
  return value;
}

void PutChild(Writer& w, const ChildReport& c) {
  w.U64(static_cast<std::uint64_t>(c.id));
  w.Str(c.state);
  w.U64(static_cast<std::uint64_t>(c.restarts));
  w.U64(static_cast<std::uint64_t>(c.pid));
  w.Str(c.host);
}

ChildReport GetChild(Reader& r) {
  ChildReport c;
  c.id = static_cast<NodeId>(r.U64());
  c.state = r.Str();
  c.restarts = static_cast<std::int64_t>(r.U64());
  c.pid = static_cast<std::int64_t>(r.U64());
  c.host = r.Str();
  return c;
}

}  // namespace

std::string Encode(const SpawnArgs& m) {
  Writer w;
  w.U64(static_cast<std::uint64_t>(m.id));
  w.Str(m.host);
  w.Str(m.url);
  w.U64(static_cast<std::uint64_t>(m.pid));
  return w.Take();
}

std::string Encode(const SpawnedReply& m) {
  Writer w;
  w.U64(static_cast<std::uint64_t>(m.pid));
  return w.Take();
}

std::string Encode(const AdoptArgs& m) {
  Writer w;
  w.U64(static_cast<std::uint64_t>(m.id));
  w.Str(m.url);
  w.U64(static_cast<std::uint64_t>(m.pid));
  w.Str(m.host);
  return w.Take();
}

std::string Encode(const AttachArgs& m) {
  Writer w;
  w.Str(m.digest);
  w.U64(static_cast<std::uint64_t>(m.parent_id));
  w.Str(m.parent_host);
  return w.Take();
}

std::string Encode(const Identity& m) {
  Writer w;
  w.U64(static_cast<std::uint64_t>(m.id));
  w.U64(static_cast<std::uint64_t>(m.pid));
  w.Str(m.host);
  w.Str(m.digest);
  return w.Take();
}

std::string EncodeNodeId(NodeId id) {
  Writer w;
  w.U64(static_cast<std::uint64_t>(id));
  return w.Take();
}

std::string Encode(const SweepEntry& m) {
  Writer body;
  body.U64(static_cast<std::uint64_t>(m.id));
  body.U64(static_cast<std::uint64_t>(m.pid));
  body.Str(m.host);
  body.U32(static_cast<std::uint32_t>(m.children.size()));
  for (const ChildReport& c : m.children) PutChild(body, c);
  Writer w;
  w.Str(body.Take());  // length-prefixed, so entries concatenate
  return w.Take();
}

Result<SpawnArgs> DecodeSpawnArgs(std::string_view bytes) {
  Reader r = ReaderOf(bytes);
  SpawnArgs m;
  m.id = static_cast<NodeId>(r.U64());
  m.host = r.Str();
  m.url = r.Str();
  m.pid = static_cast<std::int64_t>(r.U64());
  return Finish(r, m, "spawn arguments");
}

Result<SpawnedReply> DecodeSpawnedReply(std::string_view bytes) {
  Reader r = ReaderOf(bytes);
  SpawnedReply m;
  m.pid = static_cast<std::int64_t>(r.U64());
  return Finish(r, m, "spawn reply");
}

Result<AdoptArgs> DecodeAdoptArgs(std::string_view bytes) {
  Reader r = ReaderOf(bytes);
  AdoptArgs m;
  m.id = static_cast<NodeId>(r.U64());
  m.url = r.Str();
  m.pid = static_cast<std::int64_t>(r.U64());
  m.host = r.Str();
  return Finish(r, m, "adopt arguments");
}

Result<AttachArgs> DecodeAttachArgs(std::string_view bytes) {
  Reader r = ReaderOf(bytes);
  AttachArgs m;
  m.digest = r.Str();
  m.parent_id = static_cast<NodeId>(r.U64());
  m.parent_host = r.Str();
  return Finish(r, m, "attach arguments");
}

Result<Identity> DecodeIdentity(std::string_view bytes) {
  Reader r = ReaderOf(bytes);
  Identity m;
  m.id = static_cast<NodeId>(r.U64());
  m.pid = static_cast<std::int64_t>(r.U64());
  m.host = r.Str();
  m.digest = r.Str();
  return Finish(r, m, "identity");
}

Result<NodeId> DecodeNodeId(std::string_view bytes) {
  Reader r = ReaderOf(bytes);
  auto id = static_cast<NodeId>(r.U64());
  return Finish(r, id, "node id");
}

Result<std::vector<SweepEntry>> DecodeSweep(std::string_view bytes) {
  Reader outer = ReaderOf(bytes);
  std::vector<SweepEntry> out;
  while (!outer.AtEnd() && outer.error().empty()) {
    if (out.size() >= kMaxSweepEntries) return InvalidArgument("sweep: too many entries");
    std::string body = outer.Str();
    Reader r = ReaderOf(body);
    SweepEntry e;
    e.id = static_cast<NodeId>(r.U64());
    e.pid = static_cast<std::int64_t>(r.U64());
    e.host = r.Str();
    std::uint32_t n = r.Count(kMaxChildren, 8, "child");
    for (std::uint32_t i = 0; i < n; ++i) e.children.push_back(GetChild(r));
    Result<SweepEntry> entry = Finish(r, std::move(e), "sweep entry");
    // The entries before a bad one are still true: keep them, so one bad entry costs only
    // the nodes after it, not the whole answer (a sweep that failed whole made pingall call
    // every node unreachable).
    if (!entry.ok()) return out.empty() ? Result<std::vector<SweepEntry>>(entry.status()) : out;
    out.push_back(std::move(entry).value());
  }
  if (!outer.error().empty() && out.empty()) return InvalidArgument("sweep: " + outer.error());
  return out;
}

}  // namespace arbor
