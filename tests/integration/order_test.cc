// Order under overlapping faults (issue 16): a command that answered "unavailable" must never
// take effect after a later command to the same node was acknowledged. The fence (fence.h)
// refuses a late, older group at the node; these tests send such groups both the way a user
// meets them (a paused node or hop, then SIGCONT) and directly, as forged batches.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "arbor/batch.h"
#include "arbor/fence.h"
#include "processes.h"
#include "raw_wire.h"
#include "tree_helpers.h"

using namespace arbor::testing;
using namespace std::chrono_literals;

namespace {

arbor::BatchRequest SetOnce(long target, const std::string& value, arbor::GroupSeq order) {
  arbor::BatchRequest q;
  q.id = 1;
  q.budget_ms = 1000;
  q.groups.push_back({target, {{"exec", {"k", value}}}, order});
  return q;
}

// The answer to the only operation of `reply`: "ok" or the error's message.
std::string Only(const arbor::BatchReply& reply) {
  REQUIRE(reply.route.ok());
  REQUIRE(reply.entries.size() == 1);
  const arbor::OpResult& r = reply.entries[0].result;
  return r.status.ok() ? "ok" : r.status.message();
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The reproduction, `rounds` times: with `paused` stopped, a set to `target` times out;
// a second set and a read are sent; `paused` resumes 100 ms later. The second set is
// acknowledged, so no later read may ever see the first.
void StaleSetNeverWins(ControllerProcess& c, pid_t paused, long target, int rounds) {
  const std::string t = std::to_string(target);
  for (int round = 1; round <= rounds; ++round) {
    const std::string first = std::to_string(round * 10 + 1);
    const std::string second = std::to_string(round * 10 + 2);
    REQUIRE(StopAndWait(paused));
    CHECK(c.Command("exec " + t + " x " + first) == "Error:" + t + ": Node is unavailable");
    c.Send("exec " + t + " x " + second);
    c.Send("exec " + t + " x");
    std::this_thread::sleep_for(100ms);
    ::kill(paused, SIGCONT);
    CHECK(c.NextLine() == "Ok:" + t);
    CHECK(c.NextLine() == "Ok:" + t + ": " + second);
    // Long enough for anything still queued anywhere on the route to have run by now.
    std::this_thread::sleep_for(50ms);
    CHECK(c.Command("exec " + t + " x") == "Ok:" + t + ": " + second);
  }
}

}  // namespace

TEST_CASE("fence: a node refuses a group older than one it admitted, and says why") {
  ControllerProcess c;
  auto pids = CreateAll(c, {10});
  const std::string url = NodeUrl(pids[10], 10);
  CHECK(Only(RawBatch(url, SetOnce(10, "1", {1, 10}))) == "ok");
  std::string stale = Only(RawBatch(url, SetOnce(10, "2", {1, 5})));
  CHECK(Contains(stale, "stale command refused: node 10 has already run a later one"));
  CHECK(Only(RawBatch(url, SetOnce(10, "3", {1, 10}))) != "ok");  // the same number again
  CHECK(Only(RawBatch(url, SetOnce(10, "4", {1, 11}))) == "ok");
  CHECK(Only(RawBatch(url, SetOnce(10, "5", {}))) == "ok");  // unfenced: admitted as it comes
  CHECK(Only(RawBatch(url, SetOnce(10, "6", {1, 3}))) != "ok");
  // The controller's epoch is its start time: newer than 1, so its commands are admitted, and
  // from then on epoch 1 is stale.
  CHECK(c.Command("exec 10 k") == "Ok:10: 5");  // 2, 3 and 6 never ran
  CHECK(c.Command("exec 10 k 6") == "Ok:10");
  CHECK(Contains(Only(RawBatch(url, SetOnce(10, "7", {1, 1000}))), "stale command refused"));
  // An epoch far ahead of the clock would outrank every controller for good: refused.
  std::uint64_t future = arbor::NewEpoch() + 2ULL * 24 * 3600 * 1000000000;
  CHECK(Contains(Only(RawBatch(url, SetOnce(10, "8", {future, 1}))), "more than a day ahead"));
  CHECK(c.Command("exec 10 k") == "Ok:10: 6");
  CHECK(c.Command("exec 10 k 9") == "Ok:10");
}

TEST_CASE("fence: the mark is kept with the node's data and survives kill -9") {
  ControllerProcess c({"--config", TestConfig("order_fsync.yaml")});
  auto pids = CreateAll(c, {10, 5});
  const std::string url = NodeUrl(pids[10], 10);  // the root routes to 5
  CHECK(Only(RawBatch(url, SetOnce(5, "1", {1, 10}))) == "ok");
  REQUIRE(::kill(pids[5], SIGKILL) == 0);
  // pingall sweeps with unfenced requests: nothing on the way moves 5's mark.
  REQUIRE(WaitFor([&] { return c.Command("pingall") == "Ok: -1"; }, 10s));
  CHECK(Contains(Only(RawBatch(url, SetOnce(5, "2", {1, 7}))), "stale command refused"));
  CHECK(c.Command("remove 5") == "Ok");  // keeps the data, and the mark with it
  CHECK(PidOf(c.Command("create 5")) > 0);
  CHECK(Contains(Only(RawBatch(url, SetOnce(5, "3", {1, 9}))), "stale command refused"));
  CHECK(Only(RawBatch(url, SetOnce(5, "4", {1, 11}))) == "ok");
  CHECK(c.Command("exec 5 k") == "Ok:5: 4");
}

TEST_CASE("fence: a set that timed out at a paused node never lands after a later one") {
  ControllerProcess c({"--config", TestConfig("order_fsync.yaml")});
  auto pids = CreateAll(c, {10, 5});
  StaleSetNeverWins(c, pids[5], 5, 20);
  CHECK(c.Command("pingall") == "Ok: -1");
}

TEST_CASE("fence: a set that timed out at a paused hop never lands after a later one") {
  ControllerProcess c({"--config", TestConfig("order_fsync.yaml")});
  auto pids = CreateAll(c, {10, 5, 3});
  StaleSetNeverWins(c, pids[5], 3, 10);
  CHECK(c.Command("pingall") == "Ok: -1");
}
