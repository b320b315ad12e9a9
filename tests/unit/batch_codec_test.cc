// The batch encodings (batch.h): round trips, what a hop forwards, and every truncation of a
// batch, a collect and a batch reply is malformed rather than a crash or an over-read.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "arbor/batch.h"

namespace arbor {
namespace {

std::span<const std::uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

BatchRequest Sample() {
  BatchRequest q;
  q.id = 77;
  q.budget_ms = 1500;
  q.groups.push_back({30, {{"exec", {"x", "5"}}, {"exec", {"x"}}}, {1765000000000000000, 41}});
  q.groups.push_back({-7, {{"ping", {}}}, {}});
  q.groups.push_back({30, {{"arbor.info", {"limits"}}}, {1765000000000000000, 43}});
  return q;
}

BatchReply SampleReply() {
  BatchReply p;
  p.id = 9;
  p.held = 3;
  p.entries.push_back({2, true, {Status::Ok(), "5"}});
  p.entries.push_back({0, false, {Unavailable("node 30 did not answer"), {}}});
  p.entries.push_back({3, true, {InvalidArgument("bad name"), {}}});
  return p;
}

}  // namespace

TEST_CASE("batch codec: a batch scans into its groups and every group decodes back") {
  BatchRequest q = Sample();
  std::string bytes = EncodeBatch(q);
  Result<BatchView> v = ScanBatch(Bytes(bytes));
  REQUIRE(v.ok());
  CHECK(v->id == 77);
  CHECK(v->budget_ms == 1500);
  CHECK(v->nops == 4);
  REQUIRE(v->groups.size() == 3);
  CHECK(v->groups[0].target == 30);
  CHECK(v->groups[0].first == 0);
  CHECK(v->groups[1].first == 2);
  CHECK(v->groups[2].first == 3);
  CHECK(v->groups[0].order.epoch == 1765000000000000000);
  CHECK(v->groups[0].order.seq == 41);
  CHECK(v->groups[1].order.epoch == 0);
  CHECK(v->groups[2].order.seq == 43);
  for (std::size_t g = 0; g < 3; ++g) {
    std::vector<Op> ops = DecodeGroupOps(v->groups[g]);
    REQUIRE(ops.size() == q.groups[g].ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) {
      CHECK(ops[i].verb == q.groups[g].ops[i].verb);
      CHECK(ops[i].args == q.groups[g].ops[i].args);
    }
  }
}

TEST_CASE("batch codec: a sub-batch of some groups is those groups as one batch") {
  BatchRequest q = Sample();
  std::string bytes = EncodeBatch(q);
  Result<BatchView> v = ScanBatch(Bytes(bytes));
  REQUIRE(v.ok());
  std::vector<const GroupSpan*> picked = {&v->groups[0], &v->groups[2]};
  std::string sub(SubBatchSize(picked), '\0');
  WriteSubBatch(reinterpret_cast<std::uint8_t*>(sub.data()), 77, 900, picked);
  BatchRequest expected{77, 900, {q.groups[0], q.groups[2]}};
  CHECK(sub == EncodeBatch(expected));
  // And the budget can be rewritten in place, as a forwarding hop does.
  PatchBatchBudget({reinterpret_cast<std::uint8_t*>(sub.data()), sub.size()}, 899);
  Result<BatchView> again = ScanBatch(Bytes(sub));
  REQUIRE(again.ok());
  CHECK(again->budget_ms == 899);
}

TEST_CASE("batch codec: replies and collects round-trip and entries copy under new indices") {
  BatchReply p = SampleReply();
  std::string bytes = EncodeBatchReply(p);
  Result<BatchReply> d = DecodeBatchReply(Bytes(bytes));
  REQUIRE(d.ok());
  CHECK(d->id == 9);
  CHECK(d->held == 3);
  REQUIRE(d->entries.size() == 3);
  CHECK(d->entries[0].result.text == "5");
  CHECK_FALSE(d->entries[1].ran);
  CHECK(d->entries[1].result.status.code() == Code::kUnavailable);
  CHECK(d->entries[2].result.status.message() == "bad name");
  Result<BatchReplyView> v = ScanBatchReply(Bytes(bytes));
  REQUIRE(v.ok());
  std::string copied = BatchReplyFront(9, Status::Ok(), 0, 3);
  for (const EntrySpan& e : v->entries) AppendEntry(copied, e, e.index + 10);
  Result<BatchReply> moved = DecodeBatchReply(Bytes(copied));
  REQUIRE(moved.ok());
  CHECK(moved->held == 0);
  CHECK(moved->entries[0].index == 12);
  CHECK(moved->entries[1].index == 10);
  CHECK(moved->entries[2].index == 13);
  CHECK(moved->entries[2].result.status.message() == "bad name");

  Collect c{5, 1234, 42};
  Result<Collect> dc = DecodeCollect(Bytes(EncodeCollect(c)));
  REQUIRE(dc.ok());
  CHECK(dc->id == 5);
  CHECK(dc->budget_ms == 1234);
  CHECK(dc->token == 42);
}

TEST_CASE("batch codec: every truncation and every extension is malformed") {
  for (const std::string& whole : {EncodeBatch(Sample()), EncodeBatchReply(SampleReply()),
                                   EncodeCollect({5, 1234, 42})}) {
    for (std::size_t n = 0; n < whole.size(); ++n) {
      std::string cut = whole.substr(0, n);
      CHECK_FALSE(ScanBatch(Bytes(cut)).ok());
      CHECK_FALSE(DecodeBatchReply(Bytes(cut)).ok());
      CHECK_FALSE(ScanBatchReply(Bytes(cut)).ok());
      CHECK_FALSE(DecodeCollect(Bytes(cut)).ok());
    }
    std::string longer = whole + "x";
    CHECK_FALSE(ScanBatch(Bytes(longer)).ok());
    CHECK_FALSE(DecodeBatchReply(Bytes(longer)).ok());
    CHECK_FALSE(DecodeCollect(Bytes(longer)).ok());
  }
}

TEST_CASE("batch codec: limits are checked before sending and when scanning") {
  BatchRequest empty;
  CHECK(CheckBatchLimits(empty).code() == Code::kInvalidArgument);
  CHECK_FALSE(ScanBatch(Bytes(EncodeBatch(empty))).ok());
  BatchRequest empty_group{1, 1, {{5, {}, {}}}};
  CHECK(CheckBatchLimits(empty_group).code() == Code::kInvalidArgument);
  CHECK_FALSE(ScanBatch(Bytes(EncodeBatch(empty_group))).ok());
  BatchRequest too_many{1, 1, {{5, std::vector<Op>(kMaxBatchOps + 1, Op{"ping", {}}), {}}}};
  CHECK(CheckBatchLimits(too_many).message() == "a batch carries 1 to 65536 operations");
  Result<BatchView> refused = ScanBatch(Bytes(EncodeBatch(too_many)));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("malformed") != std::string::npos);
  BatchRequest at_limit{1, 1, {{5, std::vector<Op>(kMaxBatchOps, Op{"ping", {}}), {}}}};
  CHECK(CheckBatchLimits(at_limit).ok());
  CHECK(ScanBatch(Bytes(EncodeBatch(at_limit))).ok());
  // A fenced group numbers its operations from 1, and the numbers must not wrap.
  BatchRequest seq_zero{1, 1, {{5, {Op{"ping", {}}}, {7, 0}}}};
  CHECK_FALSE(ScanBatch(Bytes(EncodeBatch(seq_zero))).ok());
  BatchRequest wraps{1, 1, {{5, {Op{"ping", {}}, Op{"ping", {}}}, {7, UINT64_MAX}}}};
  CHECK_FALSE(ScanBatch(Bytes(EncodeBatch(wraps))).ok());
  BatchRequest last{1, 1, {{5, {Op{"ping", {}}}, {7, UINT64_MAX}}}};
  CHECK(ScanBatch(Bytes(EncodeBatch(last))).ok());
  // A route failure must say why: an OK status on an operation that did not run is refused.
  BatchReply bad;
  bad.entries.push_back({0, false, {Status::Ok(), "x"}});
  CHECK_FALSE(DecodeBatchReply(Bytes(EncodeBatchReply(bad))).ok());
}

}  // namespace arbor
