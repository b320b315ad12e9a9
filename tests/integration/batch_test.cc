// Batches by route (batch.h, scheduler.h): commands for many nodes travel together, a hung or
// dead subtree holds back only its own commands, the order of commands to one node is kept,
// and batches and their replies are split to fit the limits.
#include <signal.h>

#include <mutex>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "arbor/config.h"
#include "deployment.h"
#include "processes.h"
#include "scheduler.h"
#include "tree_helpers.h"

using namespace arbor::testing;

namespace {

struct JsonAnswer {
  bool ok = false;
  std::string text;  // result or error
  double ms = -1;    // time_ms: from the command's submission to its answer
};

// The fields this test needs from a --json line (output_test checks the format itself).
JsonAnswer ParseJson(const std::string& line) {
  INFO("line: " << line);
  static const std::regex re(
      R"re(^\{"command":"[^"]*","ok":(true|false),(?:"id":-?[0-9]+,)?"(?:result|error)":"([^"]*)","time_ms":([0-9.]+)\}$)re");
  std::smatch m;
  REQUIRE(std::regex_match(line, m, re));
  return {m[1] == "true", m[2], std::stod(m[3])};
}

// Writes `script` from a thread of its own: a script larger than the pipe would block the
// write until the controller reads, and the controller blocks when nobody reads its answers.
std::jthread SendAsync(ControllerProcess& c, std::string script) {
  return std::jthread([&c, script = std::move(script)] { c.Send(script); });
}

std::string Script(const std::vector<std::string>& lines) {
  std::string s;
  for (const std::string& l : lines) s += (s.empty() ? "" : "\n") + l;
  return s;
}

}  // namespace

TEST_CASE("batch: a hung and a dead node hold back only their own commands") {
  ControllerProcess c({"--json", "--config", TestConfig("batch.yaml")});  // deadline 3000 ms
  std::map<long, pid_t> pids;
  for (long id : {50, 25, 75, 12, 37, 62, 87}) {
    JsonAnswer a = ParseJson(c.Command("create " + std::to_string(id)));
    REQUIRE(a.ok);
    pids[id] = static_cast<pid_t>(std::stol(a.text));
  }
  REQUIRE(StopAndWait(pids[37]));                                // hung: a leaf under 25
  REQUIRE(kill(pids[62], SIGKILL) == 0);                          // dead: a leaf under 75
  REQUIRE(WaitFor([&] { return kill(pids[62], 0) != 0; }, 5s));  // reaped by its parent
  // One write: the controller reads it at once, and the commands travel in the same batches.
  // The hung node's command comes first, so the others are behind it.
  c.Send(Script({"exec 37 k 1", "exec 12 a 1", "exec 62 k", "exec 87 b 2", "ping 37",
                 "exec 25 c 3", "exec 12 a", "exec 50 d 4", "ping 62", "exec 87 b", "exec 75 e",
                 "exec 37 k"}));
  std::vector<JsonAnswer> a;
  for (int i = 0; i < 12; ++i) a.push_back(ParseJson(c.NextLine(20s)));
  // The deadline is 3000 ms: "at once" is well under it. The hung node's first command ends at
  // the deadline. The two behind it end at the same deadline when they travelled in its batch
  // (the usual case: the controller reads all twelve lines at once), else at the next one, as
  // when they queue behind it (its order is kept).
  auto at_once = [](const JsonAnswer& x) { return x.ms < 1500; };
  auto near = [](const JsonAnswer& x, double ms) { return x.ms > ms - 500 && x.ms < ms + 1500; };
  for (int healthy : {1, 3, 5, 6, 7, 9, 10}) {
    INFO("command " << healthy << " took " << a[healthy].ms << " ms");
    CHECK(a[healthy].ok);
    CHECK(at_once(a[healthy]));
  }
  CHECK(a[1].text == "");
  CHECK(a[6].text == "1");
  CHECK(a[9].text == "2");
  CHECK(a[10].text == "'e' not found");
  // The dead node: answered at once too, as unavailable.
  CHECK(a[2].text == "Node is unavailable");
  CHECK(at_once(a[2]));
  CHECK(a[8].text == "0");
  CHECK(at_once(a[8]));
  INFO("hung node: " << a[0].ms << ", " << a[4].ms << ", " << a[11].ms << " ms");
  CHECK(near(a[0], 3000));
  CHECK((near(a[4], 3000) || near(a[4], 6000)));
  CHECK((near(a[11], 3000) || near(a[11], 6000)));
  CHECK(a[11].ms >= a[4].ms - 50);
  CHECK(a[0].text == "Node is unavailable");
  CHECK(a[4].text == "0");
  CHECK(a[11].text == "Node is unavailable");
  // Nothing was lost on the healthy nodes, and the hung one serves again once it wakes.
  REQUIRE(kill(pids[37], SIGCONT) == 0);
  CHECK(ParseJson(c.Command("exec 25 c")).text == "3");
  CHECK(ParseJson(c.Command("exec 37 k 2", 10s)).ok);
}

TEST_CASE("batch: commands to one node keep their order inside a batch and across batches") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});
  const std::vector<long> ids = {50, 25, 75, 12, 87};
  CreateAll(c, ids);
  // Per node, a set and a get of the same key, again and again: each get must see the set just
  // before it. 2 x 3000 commands per node, more than one batch takes (Scheduler::kMaxBatchOps).
  constexpr int kRounds = 3000;
  std::string script;
  for (int i = 0; i < kRounds; ++i) {
    for (long id : ids) script += fmt::format("exec {} k {}\nexec {} k\n", id, i, id);
  }
  script.pop_back();
  std::jthread writer = SendAsync(c, std::move(script));
  int wrong = 0;
  for (int i = 0; i < kRounds; ++i) {
    for (long id : ids) {
      std::string set = c.NextLine(20s), get = c.NextLine(20s);
      if (set == fmt::format("Ok:{}", id) && get == fmt::format("Ok:{}: {}", id, i)) continue;
      if (++wrong <= 5) FAIL_CHECK("round " << i << " node " << id << ": " << set << " / " << get);
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("batch: the scheduler splits commands queued past its batch limit") {
  using arbor::controller::Command;
  using arbor::controller::CommandKind;
  using arbor::controller::Outcome;
  using arbor::controller::Scheduler;
  arbor::Result<arbor::Config> config = arbor::LoadDefaultConfig();
  REQUIRE(config.ok());
  arbor::controller::Deployment d(*config, BinDir() + "/arbor-node");
  REQUIRE(d.Create(10).ok());
  REQUIRE(d.Create(5).ok());
  REQUIRE(StopAndWait(*d.PidOf(5)));
  arbor::controller::VerbCatalog verbs;
  Scheduler scheduler(d, verbs);
  auto command = [](std::vector<std::string> args) {
    Command c;
    c.kind = CommandKind::kVerb;
    c.id = 5;
    c.verb = "exec";
    c.args = std::move(args);
    return c;
  };
  std::mutex mu;
  int ok = 0, failed = 0;
  auto count = [&](Outcome o) {
    std::lock_guard lock(mu);
    (o.ok ? ok : failed)++;
  };
  // The first goes at once and waits on the stopped node; the rest queue behind it, more than
  // one batch may carry. Without the limit they would leave as one batch of all of them.
  scheduler.Submit(command({"first", "1"}), count);
  const std::size_t queued = Scheduler::kMaxBatchOps + 5000;
  for (std::size_t i = 0; i < queued; ++i) scheduler.Submit(command({"k", std::to_string(i)}), count);
  REQUIRE(kill(*d.PidOf(5), SIGCONT) == 0);
  scheduler.Drain();
  CHECK(ok == static_cast<int>(queued) + 1);
  CHECK(failed == 0);
  Scheduler::Stats stats = scheduler.stats();
  CHECK(stats.batched == queued + 1);
  CHECK(stats.batches >= 3);  // the first, then at least two for the queued ones
  CHECK(stats.batched / stats.batches <= Scheduler::kMaxBatchOps);
}

TEST_CASE("batch: commands queued behind a stopped node are all answered in order") {
  ControllerProcess c({"--config", TestConfig("batch.yaml")});  // deadline 3000 ms
  auto pids = CreateAll(c, {10, 5});
  // While node 5 is stopped, its first command waits and 20000 more queue behind it. It wakes
  // before the deadline.
  REQUIRE(StopAndWait(pids[5]));
  std::string script = "exec 5 first 1";
  for (int i = 0; i < 20000; ++i) script += fmt::format("\nexec 5 k{} {}", i, i);
  script += "\nexec 5 k19999";
  std::jthread writer = SendAsync(c, std::move(script));
  std::this_thread::sleep_for(1s);  // all of it read and queued
  REQUIRE(kill(pids[5], SIGCONT) == 0);
  CHECK(c.NextLine(15s) == "Ok:5");
  int wrong = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line = c.NextLine(20s);
    if (line != "Ok:5" && ++wrong <= 5) FAIL_CHECK("command " << i << ": " << line);
  }
  CHECK(wrong == 0);
  CHECK(c.NextLine(10s) == "Ok:5: 19999");
}

TEST_CASE("batch: batches and replies larger than max_message_bytes are split") {
  ControllerProcess c({"--config", TestConfig("small_messages.yaml")});  // 4096-byte messages
  CreateAll(c, {10, 5, 15});
  // Values of 1000 digits are not integers the dictionary takes; names of 1000 letters are.
  // 300 sets of such names to three nodes: about 300 KB of commands, in batches of 2 KB.
  auto name = [](int i) { return fmt::format("{:a>1000}", i); };
  std::string sets, gets;
  for (int i = 0; i < 300; ++i) {
    long id = (i % 3 == 0) ? 10 : (i % 3 == 1) ? 5 : 15;
    sets += fmt::format("exec {} {} {}\n", id, name(i), i);
    gets += fmt::format("exec {} {}\n", id, name(i));
  }
  std::jthread writer = SendAsync(c, sets.substr(0, sets.size() - 1));
  for (int i = 0; i < 300; ++i) {
    long id = (i % 3 == 0) ? 10 : (i % 3 == 1) ? 5 : 15;
    REQUIRE(c.NextLine(20s) == fmt::format("Ok:{}", id));
  }
  // Errors repeat the 1000-byte name: 300 of them in replies of at most 4 KB each.
  std::string missing;
  for (int i = 0; i < 300; ++i) missing += fmt::format("exec 5 {}\n", name(100000 + i));
  writer.join();
  writer = SendAsync(c, missing.substr(0, missing.size() - 1));
  for (int i = 0; i < 300; ++i) {
    std::string line = c.NextLine(20s);
    REQUIRE(line.rfind("Ok:5: '", 0) == 0);
    REQUIRE(line.find("' not found") != std::string::npos);
  }
  writer.join();
  writer = SendAsync(c, gets.substr(0, gets.size() - 1));
  for (int i = 0; i < 300; ++i) {
    long id = (i % 3 == 0) ? 10 : (i % 3 == 1) ? 5 : 15;
    REQUIRE(c.NextLine(20s) == fmt::format("Ok:{}: {}", id, i));
  }
  writer.join();
  // One answer larger than any reply: an error that says so, never a lost reply; the commands
  // around it are answered as usual.
  const std::string too_large =
      "Error:15: the answer (5000 bytes) does not fit in a reply (max_message_bytes 4096)";
  CHECK(c.Command("huge 15 5000") == too_large);
  c.Send("exec 15 x 1\nhuge 15 5000\nhuge 15 3000\nexec 15 x");
  CHECK(c.NextLine() == "Ok:15");
  CHECK(c.NextLine() == too_large);
  CHECK(c.NextLine() == "Ok:15: " + std::string(3000, 'x'));
  CHECK(c.NextLine() == "Ok:15: 1");
  CHECK(c.Command("pingall") == "Ok: -1");
}

TEST_CASE("batch: an answer over the answer limit is an error that says so") {
  ControllerProcess c({"--config", TestConfig("batch.yaml")});  // 1 MiB messages
  CreateAll(c, {10});
  CHECK(c.Command("huge 10 65536") == "Ok:10: " + std::string(65536, 'x'));
  c.Send("huge 10\nexec 10 x 1");
  CHECK(c.NextLine() == "Error:10: the answer (70000 bytes) is over the 65536-byte limit of an answer");
  CHECK(c.NextLine() == "Ok:10");
}
