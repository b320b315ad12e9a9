// The batch encodings; the layout is in batch.h.
#include "arbor/batch.h"

#include <cstring>

#include <fmt/format.h>

#include "codec.h"

namespace arbor {
namespace {

constexpr std::size_t kBatchHeaderBytes = 4 + 1 + 8 + 4 + 4;
constexpr std::size_t kBudgetOffset = 4 + 1 + 8;

}  // namespace

std::optional<std::uint8_t> PeekKind(std::span<const std::uint8_t> b) {
  if (b.size() < 5) return std::nullopt;
  std::uint32_t magic;
  std::memcpy(&magic, b.data(), 4);
  if (magic != kWireMagic) return std::nullopt;
  return b[4];
}

std::string EncodeBatch(const BatchRequest& q) {
  Writer w;
  w.U32(kWireMagic);
  w.U8(kKindBatch);
  w.U64(q.id);
  w.U32(q.budget_ms);
  w.U32(static_cast<std::uint32_t>(q.groups.size()));
  for (const BatchGroup& g : q.groups) {
    w.U64(static_cast<std::uint64_t>(g.target));
    w.U64(g.order.epoch);
    w.U64(g.order.seq);
    w.U32(static_cast<std::uint32_t>(g.ops.size()));
    for (const Op& op : g.ops) WriteOp(w, op);
  }
  return w.Take();
}

Result<BatchView> ScanBatch(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  BatchView v;
  if (ReadPreamble(r, kKindBatch, "a batch")) {
    v.id = r.U64();
    v.budget_ms = r.U32();
    // A group is at least a target, its order, a count and one operation (a verb and an
    // argument count).
    std::uint32_t ngroups = r.Count(kMaxBatchOps, 8 + 16 + 4 + 8, "group");
    if (ngroups == 0 && r.error().empty()) r.Fail("batch with no groups");
    v.groups.reserve(ngroups);
    for (std::uint32_t g = 0; g < ngroups && r.error().empty(); ++g) {
      std::size_t start = r.pos();
      GroupSpan span;
      span.target = static_cast<NodeId>(r.U64());
      span.order.epoch = r.U64();
      span.order.seq = r.U64();
      // Numbers count from 1: a fence at 0 has admitted nothing yet.
      if (span.order.epoch != 0 && span.order.seq == 0) r.Fail("fenced group with seq 0");
      span.first = v.nops;
      span.nops = r.Count(kMaxBatchOps - v.nops, 8, "operation");
      if (span.nops == 0 && r.error().empty()) r.Fail("group with no operations");
      // The last operation's number, seq + nops - 1, must not wrap.
      if (span.order.seq != 0 && span.order.seq - 1 > UINT64_MAX - span.nops && r.error().empty()) {
        r.Fail("group sequence numbers overflow");
      }
      for (std::uint32_t i = 0; i < span.nops && r.error().empty(); ++i) {
        r.SkipStr();
        std::uint32_t nargs = r.Count(kMaxArgsPerOp, 4, "argument");
        for (std::uint32_t a = 0; a < nargs; ++a) r.SkipStr();
      }
      v.nops += span.nops;
      span.bytes = bytes.subspan(start, r.pos() - start);
      v.groups.push_back(span);
    }
  }
  if (r.error().empty() && !r.AtEnd()) r.Fail("trailing bytes");
  if (!r.error().empty()) return Malformed(r.error());
  return v;
}

std::vector<Op> DecodeGroupOps(const GroupSpan& g) {
  Reader r(g.bytes);
  r.U64();  // target
  r.U64();  // epoch
  r.U64();  // seq
  std::vector<Op> ops(r.U32());
  for (Op& op : ops) {
    op.verb = r.Str();
    op.args.resize(r.U32());
    for (std::string& a : op.args) a = r.Str();
  }
  return ops;
}

std::size_t SubBatchSize(std::span<const GroupSpan* const> groups) {
  std::size_t n = kBatchHeaderBytes;
  for (const GroupSpan* g : groups) n += g->bytes.size();
  return n;
}

void WriteSubBatch(std::uint8_t* out, std::uint64_t id, std::uint32_t budget_ms,
                   std::span<const GroupSpan* const> groups) {
  std::uint32_t n = static_cast<std::uint32_t>(groups.size());
  std::memcpy(out, &kWireMagic, 4);
  out[4] = kKindBatch;
  std::memcpy(out + 5, &id, 8);
  std::memcpy(out + kBudgetOffset, &budget_ms, 4);
  std::memcpy(out + kBudgetOffset + 4, &n, 4);
  out += kBatchHeaderBytes;
  for (const GroupSpan* g : groups) {
    std::memcpy(out, g->bytes.data(), g->bytes.size());
    out += g->bytes.size();
  }
}

void PatchBatchBudget(std::span<std::uint8_t> b, std::uint32_t budget_ms) {
  std::memcpy(b.data() + kBudgetOffset, &budget_ms, 4);
}

std::string EncodeBatchReply(const BatchReply& p) {
  std::string out = BatchReplyFront(p.id, p.route, p.held, static_cast<std::uint32_t>(p.entries.size()));
  for (const BatchEntry& e : p.entries) AppendEntry(out, e.index, e.ran, e.result);
  return out;
}

Result<BatchReplyView> ScanBatchReply(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  BatchReplyView p;
  if (ReadPreamble(r, kKindBatchReply, "a batch reply")) {
    p.id = r.U64();
    p.route = ReadRoute(r);
    p.held = r.U64();
    p.entries.resize(r.Count(kMaxBatchOps, kBatchEntryHeaderBytes, "entry"));
    for (EntrySpan& e : p.entries) {
      std::size_t start = r.pos();
      e.index = r.U32();
      std::uint8_t ran = r.U8();
      std::uint8_t code = r.U8();
      r.SkipStr();
      if (ran > 1) r.Fail("bad entry flag " + std::to_string(ran));
      if (!ValidCode(code)) r.Fail("bad status code " + std::to_string(code));
      // A route that "failed" with OK would be an answer with no result: refused.
      if (ran == 0 && code == 0) r.Fail("a route failure without a status");
      if (!r.error().empty()) break;
      e.bytes = bytes.subspan(start, r.pos() - start);
    }
  }
  if (r.error().empty() && !r.AtEnd()) r.Fail("trailing bytes");
  if (!r.error().empty()) return Malformed(r.error());
  return p;
}

Result<BatchReply> DecodeBatchReply(std::span<const std::uint8_t> bytes) {
  Result<BatchReplyView> view = ScanBatchReply(bytes);
  if (!view.ok()) return view.status();
  BatchReply p;
  p.id = view->id;
  p.route = std::move(view->route);
  p.held = view->held;
  p.entries.resize(view->entries.size());
  for (std::size_t i = 0; i < p.entries.size(); ++i) {
    const std::uint8_t* b = view->entries[i].bytes.data();
    BatchEntry& e = p.entries[i];
    e.index = view->entries[i].index;
    e.ran = b[4] == 1;
    std::string text(reinterpret_cast<const char*>(b) + kBatchEntryHeaderBytes,
                     view->entries[i].bytes.size() - kBatchEntryHeaderBytes);
    if (b[5] == 0) {
      e.result.text = std::move(text);
    } else {
      e.result.status = Status(static_cast<Code>(b[5]), std::move(text));
    }
  }
  return p;
}

void AppendEntry(std::string& out, std::uint32_t index, bool ran, const OpResult& result) {
  const std::string& text = result.status.ok() ? result.text : result.status.message();
  const auto n = static_cast<std::uint32_t>(text.size());
  char head[kBatchEntryHeaderBytes];
  std::memcpy(head, &index, 4);
  head[4] = ran ? 1 : 0;
  head[5] = static_cast<char>(result.status.code());
  std::memcpy(head + 6, &n, 4);
  out.append(head, sizeof head);
  out.append(text);
}

void AppendEntry(std::string& out, const EntrySpan& entry, std::uint32_t index) {
  std::size_t at = out.size();
  out.append(reinterpret_cast<const char*>(entry.bytes.data()), entry.bytes.size());
  std::memcpy(out.data() + at, &index, 4);
}

std::string BatchReplyFront(std::uint64_t id, const Status& route, std::uint64_t held,
                            std::uint32_t n) {
  Writer w;
  w.U32(kWireMagic);
  w.U8(kKindBatchReply);
  w.U64(id);
  w.U8(static_cast<std::uint8_t>(route.code()));
  w.Str(route.message());
  w.U64(held);
  w.U32(n);
  return w.Take();
}

std::optional<std::uint64_t> PeekBatchReplyHeld(std::span<const std::uint8_t> b) {
  constexpr std::size_t kRouteMessage = 4 + 1 + 8 + 1;  // magic, kind, id, route code
  if (PeekKind(b) != kKindBatchReply || b.size() < kRouteMessage + 4) return std::nullopt;
  std::uint32_t n;
  std::memcpy(&n, b.data() + kRouteMessage, 4);
  if (b.size() < kRouteMessage + 4 + std::size_t{n} + 8) return std::nullopt;
  std::uint64_t held;
  std::memcpy(&held, b.data() + kRouteMessage + 4 + n, 8);
  return held;
}

std::string EncodeCollect(const Collect& c) {
  Writer w;
  w.U32(kWireMagic);
  w.U8(kKindCollect);
  w.U64(c.id);
  w.U32(c.budget_ms);
  w.U64(c.token);
  return w.Take();
}

Result<Collect> DecodeCollect(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  Collect c;
  if (ReadPreamble(r, kKindCollect, "a collect")) {
    c.id = r.U64();
    c.budget_ms = r.U32();
    c.token = r.U64();
  }
  if (r.error().empty() && !r.AtEnd()) r.Fail("trailing bytes");
  if (!r.error().empty()) return Malformed(r.error());
  return c;
}

Status CheckBatchLimits(const BatchRequest& q) {
  std::size_t ops = 0;
  for (const BatchGroup& g : q.groups) {
    if (g.ops.empty()) return InvalidArgument("a batch group carries at least one operation");
    ops += g.ops.size();
    for (const Op& op : g.ops) {
      if (op.args.size() > kMaxArgsPerOp) {
        return InvalidArgument(fmt::format("more than {} arguments", kMaxArgsPerOp));
      }
      for (const std::string& a : op.args) {
        if (a.size() > kMaxStringBytes) {
          return InvalidArgument(fmt::format("an argument of {} bytes is over the {}-byte limit",
                                             a.size(), kMaxStringBytes));
        }
      }
    }
  }
  if (ops == 0 || ops > kMaxBatchOps) {
    return InvalidArgument(fmt::format("a batch carries 1 to {} operations", kMaxBatchOps));
  }
  return Status::Ok();
}

}  // namespace arbor
