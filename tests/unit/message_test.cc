// The wire encoding: round trips, and every way a buffer can be malformed. Decode must turn
// garbage into a Status, never a crash, an over-read or a huge allocation.
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "arbor/message.h"
#include "wire_header.h"

namespace arbor {
namespace {

std::span<const std::uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string Le32(std::uint32_t v) {
  std::string out(4, '\0');
  std::memcpy(out.data(), &v, 4);
  return out;
}

void Put32(std::string& buf, std::size_t at, std::uint32_t v) {
  REQUIRE(at + 4 <= buf.size());
  std::memcpy(buf.data() + at, &v, 4);
}

Request SampleRequest() {
  Request q;
  q.id = 0x0123456789ABCDEFull;
  q.target = -42;
  q.budget_ms = 1500;
  q.ops.push_back({"exec", {"MyVar", "5"}});
  q.ops.push_back({"exec", {"MyVar"}});
  q.ops.push_back({"ping", {}});
  q.ops.push_back({"", {"", ""}});  // empty strings are legal on the wire
  return q;
}

Reply SampleReply() {
  Reply p;
  p.id = 77;
  p.results.push_back({Status::Ok(), "5"});
  p.results.push_back({Status::Ok(), ""});
  p.results.push_back({InvalidArgument("invalid value 'x': not an integer"), ""});
  p.results.push_back({UnknownVerb("node 3 serves no verb 'frob'"), ""});
  p.results.push_back({Internal(""), ""});  // an error with an empty message
  return p;
}

void CheckSameRequest(const Request& a, const Request& b) {
  CHECK(a.id == b.id);
  CHECK(a.target == b.target);
  CHECK(a.budget_ms == b.budget_ms);
  REQUIRE(a.ops.size() == b.ops.size());
  for (std::size_t i = 0; i < a.ops.size(); ++i) {
    CHECK(a.ops[i].verb == b.ops[i].verb);
    CHECK(a.ops[i].args == b.ops[i].args);
  }
}

void CheckSameReply(const Reply& a, const Reply& b) {
  CHECK(a.id == b.id);
  CHECK(a.route.code() == b.route.code());
  CHECK(a.route.message() == b.route.message());
  REQUIRE(a.results.size() == b.results.size());
  for (std::size_t i = 0; i < a.results.size(); ++i) {
    CHECK(a.results[i].status.code() == b.results[i].status.code());
    CHECK(a.results[i].status.message() == b.results[i].status.message());
    CHECK(a.results[i].text == b.results[i].text);
  }
}

void CheckMalformed(const Status& s) {
  CHECK_FALSE(s.ok());
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains("malformed"));
}

TEST_CASE("message: request round trip") {
  Request q = SampleRequest();
  Result<Request> back = DecodeRequest(Bytes(EncodeRequest(q)));
  REQUIRE(back.ok());
  CheckSameRequest(q, *back);
}

TEST_CASE("message: request round trip at the extremes") {
  Request q;
  q.id = std::numeric_limits<std::uint64_t>::max();
  q.target = std::numeric_limits<NodeId>::min();
  q.budget_ms = std::numeric_limits<std::uint32_t>::max();
  q.ops.push_back({"exec", {std::string(kMaxStringBytes, 'x')}});
  Result<Request> back = DecodeRequest(Bytes(EncodeRequest(q)));
  REQUIRE(back.ok());
  CheckSameRequest(q, *back);

  q.target = std::numeric_limits<NodeId>::max();
  back = DecodeRequest(Bytes(EncodeRequest(q)));
  REQUIRE(back.ok());
  CHECK(back->target == std::numeric_limits<NodeId>::max());
}

TEST_CASE("message: request with the most operations and arguments allowed") {
  Request q;
  q.id = 9;
  q.target = 1;
  for (std::size_t i = 0; i < kMaxOpsPerRequest; ++i) {
    q.ops.push_back({"exec", {"v" + std::to_string(i), std::to_string(i)}});
  }
  q.ops.back().args.assign(kMaxArgsPerOp, "a");
  Result<Request> back = DecodeRequest(Bytes(EncodeRequest(q)));
  REQUIRE(back.ok());
  CheckSameRequest(q, *back);
}

TEST_CASE("message: request with too many operations or arguments is refused") {
  Request q;
  q.target = 1;
  SECTION("operations") {
    for (std::size_t i = 0; i < kMaxOpsPerRequest + 1; ++i) q.ops.push_back({"ping", {}});
    Result<Request> back = DecodeRequest(Bytes(EncodeRequest(q)));
    REQUIRE_FALSE(back.ok());
    CheckMalformed(back.status());
    CHECK_THAT(back.status().message(), Catch::Contains("operation count"));
  }
  SECTION("arguments") {
    q.ops.push_back({"exec", std::vector<std::string>(kMaxArgsPerOp + 1, "a")});
    Result<Request> back = DecodeRequest(Bytes(EncodeRequest(q)));
    REQUIRE_FALSE(back.ok());
    CheckMalformed(back.status());
    CHECK_THAT(back.status().message(), Catch::Contains("argument count"));
  }
}

TEST_CASE("message: request with no operations is refused") {
  Request q;
  q.target = 3;
  Result<Request> back = DecodeRequest(Bytes(EncodeRequest(q)));
  REQUIRE_FALSE(back.ok());
  CheckMalformed(back.status());
  CHECK_THAT(back.status().message(), Catch::Contains("no operations"));
}

TEST_CASE("message: reply round trip") {
  Reply p = SampleReply();
  Result<Reply> back = DecodeReply(Bytes(EncodeReply(p)));
  REQUIRE(back.ok());
  CheckSameReply(p, *back);
  CHECK(back->results[0].text == "5");
  CHECK(back->results[2].status.code() == Code::kInvalidArgument);
  CHECK(back->results[4].status.code() == Code::kInternal);
  CHECK(back->results[4].status.message().empty());
}

TEST_CASE("message: reply with no results round trips") {
  Reply p;
  p.id = 1;
  Result<Reply> back = DecodeReply(Bytes(EncodeReply(p)));
  REQUIRE(back.ok());
  CheckSameReply(p, *back);
}

TEST_CASE("message: every status code survives a reply") {
  const Code codes[] = {Code::kNotFound,        Code::kUnavailable, Code::kAlreadyExists,
                        Code::kInvalidArgument, Code::kUnknownVerb, Code::kInternal,
                        Code::kFailedPrecondition};
  for (Code c : codes) {
    Reply p;
    p.id = 5;
    p.results.push_back({Status(c, "op failed"), ""});
    Result<Reply> back = DecodeReply(Bytes(EncodeReply(p)));
    REQUIRE(back.ok());
    CheckSameReply(p, *back);

    Reply r = RouteFailure(6, Status(c, std::string("route failed: ") + CodeName(c)));
    CHECK(r.id == 6u);
    CHECK(r.results.empty());
    back = DecodeReply(Bytes(EncodeReply(r)));
    REQUIRE(back.ok());
    CheckSameReply(r, *back);
  }
}

TEST_CASE("message: route failure reply round trips") {
  Reply p = RouteFailure(99, Unavailable("node 7 did not answer"));
  CHECK(p.route.code() == Code::kUnavailable);
  Result<Reply> back = DecodeReply(Bytes(EncodeReply(p)));
  REQUIRE(back.ok());
  CHECK(back->id == 99u);
  CHECK(back->route.code() == Code::kUnavailable);
  CHECK(back->route.message() == "node 7 did not answer");
  CHECK(back->results.empty());
}

TEST_CASE("message: every truncation of a request is malformed") {
  std::string full = EncodeRequest(SampleRequest());
  REQUIRE(DecodeRequest(Bytes(full)).ok());
  for (std::size_t n = 0; n < full.size(); ++n) {
    std::string cut = full.substr(0, n);
    Result<Request> r = DecodeRequest(Bytes(cut));
    INFO("prefix of " << n << " of " << full.size() << " bytes");
    REQUIRE_FALSE(r.ok());
    CheckMalformed(r.status());
  }
}

TEST_CASE("message: every truncation of a reply is malformed") {
  Reply p = SampleReply();
  p.route = Status::Ok();
  std::string full = EncodeReply(p);
  REQUIRE(DecodeReply(Bytes(full)).ok());
  for (std::size_t n = 0; n < full.size(); ++n) {
    std::string cut = full.substr(0, n);
    Result<Reply> r = DecodeReply(Bytes(cut));
    INFO("prefix of " << n << " of " << full.size() << " bytes");
    REQUIRE_FALSE(r.ok());
    CheckMalformed(r.status());
  }
  std::string route = EncodeReply(RouteFailure(3, NotFound("no node 3")));
  for (std::size_t n = 0; n < route.size(); ++n) {
    Result<Reply> r = DecodeReply(Bytes(route.substr(0, n)));
    INFO("route failure prefix of " << n << " bytes");
    REQUIRE_FALSE(r.ok());
    CheckMalformed(r.status());
  }
}

TEST_CASE("message: bad magic is refused") {
  std::string q = EncodeRequest(SampleRequest());
  std::string p = EncodeReply(SampleReply());
  q[0] ^= 0x01;
  p[3] = 'X';
  Result<Request> rq = DecodeRequest(Bytes(q));
  Result<Reply> rp = DecodeReply(Bytes(p));
  REQUIRE_FALSE(rq.ok());
  REQUIRE_FALSE(rp.ok());
  CheckMalformed(rq.status());
  CheckMalformed(rp.status());
  CHECK_THAT(rq.status().message(), Catch::Contains("bad magic"));
  CHECK_THAT(rp.status().message(), Catch::Contains("bad magic"));
}

TEST_CASE("message: a request is not a reply and a reply is not a request") {
  std::string q = EncodeRequest(SampleRequest());
  std::string p = EncodeReply(SampleReply());
  Result<Reply> as_reply = DecodeReply(Bytes(q));
  Result<Request> as_request = DecodeRequest(Bytes(p));
  REQUIRE_FALSE(as_reply.ok());
  REQUIRE_FALSE(as_request.ok());
  CheckMalformed(as_reply.status());
  CheckMalformed(as_request.status());
  CHECK_THAT(as_reply.status().message(), Catch::Contains("expected a reply"));
  CHECK_THAT(as_request.status().message(), Catch::Contains("expected a request"));
}

TEST_CASE("message: trailing bytes are refused") {
  for (const std::string& extra : {std::string(1, '\0'), std::string("garbage")}) {
    Result<Request> rq = DecodeRequest(Bytes(EncodeRequest(SampleRequest()) + extra));
    Result<Reply> rp = DecodeReply(Bytes(EncodeReply(SampleReply()) + extra));
    REQUIRE_FALSE(rq.ok());
    REQUIRE_FALSE(rp.ok());
    CheckMalformed(rq.status());
    CheckMalformed(rp.status());
    CHECK_THAT(rq.status().message(), Catch::Contains("trailing bytes"));
    CHECK_THAT(rp.status().message(), Catch::Contains("trailing bytes"));
  }
}

// Offsets in the encodings (see message.cc): request header is 25 bytes, then u32 nops; the
// reply header is magic(4) kind(1) id(8) code(1) then the route message string.
constexpr std::size_t kNopsOffset = 25;

TEST_CASE("message: absurd counts are refused without allocating") {
  Request q;
  q.id = 1;
  q.target = 2;
  q.ops.push_back({"exec", {"a", "1"}});
  std::string wire = EncodeRequest(q);
  // Huge, past the limits, and (3) within the limits but more than the bytes that follow.
  std::uint32_t absurd = GENERATE(0xFFFFFFFFu, 0x80000000u, 4097u, 3u);
  CAPTURE(absurd);

  SECTION("operation count") {
    Put32(wire, kNopsOffset, absurd);
    Result<Request> r = DecodeRequest(Bytes(wire));
    REQUIRE_FALSE(r.ok());
    CheckMalformed(r.status());
    CHECK_THAT(r.status().message(), Catch::Contains("operation count"));
  }
  SECTION("argument count") {
    // After nops: str verb (4 + 4 bytes), then u32 nargs.
    Put32(wire, kNopsOffset + 4 + 4 + 4, absurd);
    Result<Request> r = DecodeRequest(Bytes(wire));
    REQUIRE_FALSE(r.ok());
    CheckMalformed(r.status());
    CHECK_THAT(r.status().message(), Catch::Contains("argument count"));
  }
  SECTION("result count") {
    Reply p;
    p.id = 1;
    p.results.push_back({Status::Ok(), "x"});
    std::string reply = EncodeReply(p);
    // magic 4, kind 1, id 8, code 1, route message (4 + 0), then u32 nresults.
    Put32(reply, 4 + 1 + 8 + 1 + 4, absurd);
    Result<Reply> r = DecodeReply(Bytes(reply));
    REQUIRE_FALSE(r.ok());
    CheckMalformed(r.status());
  }
  SECTION("string length") {
    Put32(wire, kNopsOffset + 4, absurd);  // the verb's length
    Result<Request> r = DecodeRequest(Bytes(wire));
    REQUIRE_FALSE(r.ok());
    CheckMalformed(r.status());
  }
}

TEST_CASE("message: a string longer than kMaxStringBytes is refused") {
  Request q;
  q.target = 1;
  q.ops.push_back({"exec", {std::string(kMaxStringBytes + 1, 'y')}});
  Result<Request> r = DecodeRequest(Bytes(EncodeRequest(q)));
  REQUIRE_FALSE(r.ok());
  CheckMalformed(r.status());
  CHECK_THAT(r.status().message(), Catch::Contains(std::to_string(kMaxStringBytes + 1)));

  Reply p;
  p.results.push_back({Status::Ok(), std::string(kMaxStringBytes + 1, 'z')});
  Result<Reply> rp = DecodeReply(Bytes(EncodeReply(p)));
  REQUIRE_FALSE(rp.ok());
  CheckMalformed(rp.status());

  // A length field that claims more than the limit, with no bytes behind it at all.
  std::string wire = EncodeRequest(SampleRequest());
  Put32(wire, kNopsOffset + 4, static_cast<std::uint32_t>(kMaxStringBytes + 1));
  r = DecodeRequest(Bytes(wire));
  REQUIRE_FALSE(r.ok());
  CheckMalformed(r.status());
}

TEST_CASE("message: unknown status codes in a reply are refused") {
  Reply p;
  p.id = 1;
  p.results.push_back({Status::Ok(), "x"});
  std::string wire = EncodeReply(p);
  SECTION("route code") {
    wire[13] = static_cast<char>(8);
    Result<Reply> r = DecodeReply(Bytes(wire));
    REQUIRE_FALSE(r.ok());
    CheckMalformed(r.status());
    CHECK_THAT(r.status().message(), Catch::Contains("bad status code 8"));
  }
  SECTION("result code") {
    // ... route message (4 bytes, empty), nresults (4), then the result's code.
    wire[13 + 1 + 4 + 4] = static_cast<char>(0xFF);
    Result<Reply> r = DecodeReply(Bytes(wire));
    REQUIRE_FALSE(r.ok());
    CheckMalformed(r.status());
    CHECK_THAT(r.status().message(), Catch::Contains("bad status code 255"));
  }
}

TEST_CASE("message: PeekRequestHeader reads the fixed header") {
  Request q = SampleRequest();
  std::string wire = EncodeRequest(q);
  std::optional<RequestHeader> h = PeekRequestHeader(Bytes(wire));
  REQUIRE(h.has_value());
  CHECK(h->id == q.id);
  CHECK(h->target == q.target);
  CHECK(h->budget_ms == q.budget_ms);

  // Only the header is needed: the first kRequestHeaderBytes suffice, one fewer does not.
  CHECK(PeekRequestHeader(Bytes(wire.substr(0, kRequestHeaderBytes))).has_value());
  CHECK_FALSE(PeekRequestHeader(Bytes(wire.substr(0, kRequestHeaderBytes - 1))).has_value());
  CHECK_FALSE(PeekRequestHeader({}).has_value());

  std::string reply = EncodeReply(SampleReply());
  CHECK_FALSE(PeekRequestHeader(Bytes(reply)).has_value());
  std::string bad = wire;
  bad[1] ^= 0x40;
  CHECK_FALSE(PeekRequestHeader(Bytes(bad)).has_value());
}

TEST_CASE("message: PatchBudget rewrites only the budget") {
  Request q = SampleRequest();
  std::string wire = EncodeRequest(q);
  std::vector<std::uint8_t> buf(wire.begin(), wire.end());
  REQUIRE(PeekRequestHeader(buf).has_value());
  PatchBudget(buf, 123);
  std::optional<RequestHeader> h = PeekRequestHeader(buf);
  REQUIRE(h.has_value());
  CHECK(h->budget_ms == 123u);
  CHECK(h->id == q.id);
  CHECK(h->target == q.target);

  Result<Request> back = DecodeRequest(buf);
  REQUIRE(back.ok());
  q.budget_ms = 123;
  CheckSameRequest(q, *back);

  // Only bytes 21..24 changed.
  std::string patched(buf.begin(), buf.end());
  REQUIRE(patched.size() == wire.size());
  for (std::size_t i = 0; i < wire.size(); ++i) {
    if (i >= 21 && i < 25) continue;
    INFO("byte " << i);
    CHECK(patched[i] == wire[i]);
  }
  CHECK(patched.substr(21, 4) == Le32(123));
}

TEST_CASE("message: random garbage never crashes the decoders") {
  std::mt19937_64 rng(20240611);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> length(0, 96);
  int accepted = 0;
  for (int i = 0; i < 4000; ++i) {
    std::vector<std::uint8_t> buf(length(rng));
    for (auto& b : buf) b = static_cast<std::uint8_t>(byte(rng));
    // Half the buffers start with a valid preamble, so the decoders get past the magic.
    if (i % 2 == 0 && buf.size() >= 5) {
      std::memcpy(buf.data(), &kWireMagic, 4);
      buf[4] = static_cast<std::uint8_t>(1 + (i / 2) % 2);
    }
    Result<Request> q = DecodeRequest(buf);
    Result<Reply> p = DecodeReply(buf);
    if (!q.ok()) CHECK_THAT(q.status().message(), Catch::Contains("malformed"));
    if (!p.ok()) CHECK_THAT(p.status().message(), Catch::Contains("malformed"));
    accepted += q.ok() + p.ok();
    (void)PeekRequestHeader(buf);
  }
  // Random bytes essentially never form a valid message.
  CHECK(accepted < 10);
}

TEST_CASE("message: mutated valid messages never crash the decoders") {
  std::mt19937 rng(7);
  const std::string request = EncodeRequest(SampleRequest());
  const std::string reply = EncodeReply(SampleReply());
  for (int i = 0; i < 4000; ++i) {
    std::string q = request;
    std::string p = reply;
    for (int k = 0; k < 1 + i % 4; ++k) {
      q[rng() % q.size()] = static_cast<char>(rng());
      p[rng() % p.size()] = static_cast<char>(rng());
    }
    Result<Request> rq = DecodeRequest(Bytes(q));
    Result<Reply> rp = DecodeReply(Bytes(p));
    if (rq.ok()) {
      // Whatever decoded must encode back to the same bytes.
      CHECK(EncodeRequest(*rq) == q);
    } else {
      CHECK_THAT(rq.status().message(), Catch::Contains("malformed"));
    }
    if (!rp.ok()) CHECK_THAT(rp.status().message(), Catch::Contains("malformed"));
  }
}

}  // namespace
}  // namespace arbor
