// Wire encoding. Layout (all integers little-endian):
//   request: u32 magic, u8 kind=1, u64 id, i64 target, u32 budget_ms, u32 nops,
//            nops x { str verb, u32 nargs, nargs x str }
//   reply:   u32 magic, u8 kind=2, u64 id, u8 route_code, str route_message, u32 nresults,
//            nresults x { u8 code, str text }
//   str:     u32 length, bytes
// The fixed request header lets a forwarding hop read the target and rewrite the budget without
// decoding the operations (see wire_header.h).
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "arbor/message.h"
#include "codec.h"
#include "wire_header.h"

namespace arbor {
namespace {

constexpr std::uint8_t kKindRequest = 1;
constexpr std::uint8_t kKindReply = 2;

}  // namespace

std::optional<NodeId> ParseNodeId(std::string_view text) {
  NodeId v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

std::string EncodeRequest(const Request& q) {
  Writer w;
  w.U32(kWireMagic);
  w.U8(kKindRequest);
  w.U64(q.id);
  w.U64(static_cast<std::uint64_t>(q.target));
  w.U32(q.budget_ms);
  w.U32(static_cast<std::uint32_t>(q.ops.size()));
  for (const Op& op : q.ops) WriteOp(w, op);
  return w.Take();
}

std::string EncodeReply(const Reply& p) {
  Writer w;
  w.U32(kWireMagic);
  w.U8(kKindReply);
  w.U64(p.id);
  w.U8(static_cast<std::uint8_t>(p.route.code()));
  w.Str(p.route.message());
  w.U32(static_cast<std::uint32_t>(p.results.size()));
  for (const OpResult& r : p.results) {
    w.U8(static_cast<std::uint8_t>(r.status.code()));
    w.Str(r.status.ok() ? r.text : r.status.message());
  }
  return w.Take();
}

Result<Request> DecodeRequest(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  Request q;
  if (ReadPreamble(r, kKindRequest, "a request")) {
    q.id = r.U64();
    q.target = static_cast<NodeId>(r.U64());
    q.budget_ms = r.U32();
    std::uint32_t nops = r.Count(kMaxOpsPerRequest, 8, "operation");
    if (nops == 0 && r.error().empty()) r.Fail("request with no operations");
    q.ops.resize(nops);
    for (Op& op : q.ops) {
      op.verb = r.Str();
      op.args.resize(r.Count(kMaxArgsPerOp, 4, "argument"));
      for (std::string& a : op.args) a = r.Str();
    }
  }
  if (r.error().empty() && !r.AtEnd()) r.Fail("trailing bytes");
  if (!r.error().empty()) return Malformed(r.error());
  return q;
}

Result<Reply> DecodeReply(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  Reply p;
  if (ReadPreamble(r, kKindReply, "a reply")) {
    p.id = r.U64();
    p.route = ReadRoute(r);
    p.results.resize(r.Count(kMaxOpsPerRequest, 5, "result"));
    for (OpResult& res : p.results) {
      std::uint8_t code = r.U8();
      std::string text = r.Str();
      if (!ValidCode(code)) r.Fail("bad status code " + std::to_string(code));
      if (code == 0) {
        res.text = std::move(text);
      } else {
        res.status = Status(static_cast<Code>(code), std::move(text));
      }
    }
  }
  if (r.error().empty() && !r.AtEnd()) r.Fail("trailing bytes");
  if (!r.error().empty()) return Malformed(r.error());
  return p;
}

Status CheckRequestLimits(const Request& q) {
  if (q.ops.empty() || q.ops.size() > kMaxOpsPerRequest) {
    return InvalidArgument(fmt::format("a request carries 1 to {} operations", kMaxOpsPerRequest));
  }
  for (const Op& op : q.ops) {
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
  return Status::Ok();
}

Reply RouteFailure(std::uint64_t request_id, Status why) {
  Reply p;
  p.id = request_id;
  p.route = std::move(why);
  return p;
}

std::optional<RequestHeader> PeekRequestHeader(std::span<const std::uint8_t> b) {
  if (b.size() < kRequestHeaderBytes) return std::nullopt;
  std::uint32_t magic;
  std::memcpy(&magic, b.data(), 4);
  if (magic != kWireMagic || b[4] != kKindRequest) return std::nullopt;
  RequestHeader h;
  std::memcpy(&h.id, b.data() + 5, 8);
  std::memcpy(&h.target, b.data() + 13, 8);
  std::memcpy(&h.budget_ms, b.data() + 21, 4);
  return h;
}

void PatchBudget(std::span<std::uint8_t> b, std::uint32_t budget_ms) {
  std::memcpy(b.data() + 21, &budget_ms, 4);
}

}  // namespace arbor
