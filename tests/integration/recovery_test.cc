// Recovery when failures overlap (issue 16, part 2): a child paused while its parent restarts,
// a parent killed again while it takes its children back, a subtree that exited at its orphan
// grace. Each time, once the faults stop, every node answers with its data, and `tree` shows
// no pid of a process that is gone.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "arbor/node_process.h"
#include "processes.h"
#include "raw_wire.h"
#include "tree_helpers.h"

using namespace arbor::testing;
using namespace std::chrono_literals;

namespace {

// The part of the session every node's command line shares ("<controller pid>-").
std::string Session(const ControllerProcess& c) {
  return c.session_marker().substr(std::string("--session ").size());
}

// Sets k=<id * 7> on every node of `ids`.
void Fill(ControllerProcess& c, const std::vector<long>& ids) {
  for (long id : ids) {
    REQUIRE(c.Command("exec " + std::to_string(id) + " k " + std::to_string(id * 7)) ==
            "Ok:" + std::to_string(id));
  }
}

// Within `timeout` the whole tree answers, and then every node still has what Fill() set.
void ExpectWholeAgain(ControllerProcess& c, const std::vector<long>& ids,
                      std::chrono::seconds timeout) {
  bool whole = WaitFor([&] { return c.Command("pingall") == "Ok: -1"; }, timeout);
  if (!whole) INFO("tree:\n" << c.Command("tree"));
  REQUIRE(whole);
  for (long id : ids) {
    const std::string t = std::to_string(id);
    CHECK(c.Command("exec " + t + " k") == "Ok:" + t + ": " + std::to_string(id * 7));
  }
}

// Every pid `tree` shows belongs to a running node of that id (`session`: the whole name).
void ExpectTreePidsLive(ControllerProcess& c, const std::vector<long>& ids,
                        const std::string& session) {
  c.Send("tree");
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::string line = c.NextLine();
    std::istringstream words(line);
    std::string id, state, pid;
    words >> id >> state >> pid;
    INFO(line);
    REQUIRE(pid.rfind("pid=", 0) == 0);
    if (pid == "pid=-") continue;
    CHECK(arbor::NodeProcessRuns(std::stoi(pid.substr(4)), session, std::stol(id)));
  }
}

// Waits for node `id` to run as a process other than `old`; its pid, or -1.
pid_t WaitNewProcess(ControllerProcess& c, long id, pid_t old, std::chrono::milliseconds timeout) {
  pid_t now = -1;
  WaitFor(
      [&] {
        now = NodePid(Session(c), id);
        return now > 0 && now != old;
      },
      timeout);
  return now != old ? now : -1;
}

// A self-healing durable tree of `ids` (created in that order, rooted at the first), each
// node holding k = id * 7.
struct DurableTree {
  explicit DurableTree(const std::vector<long>& ids)
      : c({"--config", TestConfig("recovery.yaml")}),
        pids(CreateAll(c, ids)),
        session(SessionOf(pids[ids.front()])) {
    Fill(c, ids);
  }
  ControllerProcess c;
  std::map<long, pid_t> pids;  // as created
  std::string session;         // the whole name, for NodeProcessRuns
};

// Stops 5, kills its parent 10, waits for the controller to start 10 again, and lets `stopped`
// pass before 5 resumes (checking what `tree` shows meanwhile).
void PauseChildWhileParentRestarts(DurableTree& t, std::chrono::milliseconds stopped) {
  auto& [c, pids, session] = t;
  REQUIRE(StopAndWait(pids[5]));
  REQUIRE(::kill(pids[10], SIGKILL) == 0);
  REQUIRE(WaitNewProcess(c, 10, pids[10], 5s) > 0);
  std::this_thread::sleep_for(stopped);
  ExpectTreePidsLive(c, {10, 5, 3, 2}, session);
  ::kill(pids[5], SIGCONT);
}

}  // namespace

TEST_CASE("recovery: a child paused while its parent restarts is taken back, not doubled") {
  const std::vector<long> chain = {10, 5, 3, 2};
  DurableTree t(chain);
  auto& [c, pids, session] = t;
  PauseChildWhileParentRestarts(t, 1s);
  ExpectWholeAgain(c, chain, 10s);
  // 5 is taken back, or, if nng stopped accepting for it while it was stopped, it exits and
  // is started again (Node::CheckListener); either way its children were never restarted.
  CHECK(NodePid(Session(c), 3) == pids[3]);
  CHECK(NodePid(Session(c), 2) == pids[2]);
  ExpectTreePidsLive(c, chain, session);
}

TEST_CASE("recovery: a child paused past its parent's restart and its own grace comes back") {
  const std::vector<long> chain = {10, 5, 3, 2};
  DurableTree t(chain);
  auto& [c, pids, session] = t;
  // While 5 is stopped its parent dies and comes back; 5 then wakes up cut off. Whether it is
  // adopted or gives up at its grace and is started again, its subtree answers with its data.
  PauseChildWhileParentRestarts(t, 3s);
  ExpectWholeAgain(c, chain, 10s);
  ExpectTreePidsLive(c, chain, session);
}

TEST_CASE("recovery: a parent killed again while it recovers forgets no child") {
  const std::vector<long> tree = {10, 5, 3, 7};
  DurableTree t(tree);
  auto& [c, pids, session] = t;
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    pid_t five = NodePid(Session(c), 5);
    pid_t seven = NodePid(Session(c), 7);
    REQUIRE(five > 0);
    REQUIRE(seven > 0);
    ::kill(seven, SIGKILL);
    ::kill(five, SIGKILL);
    pid_t again = WaitNewProcess(c, 5, five, 5s);
    REQUIRE(again > 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + 50 * round));
    ::kill(again, SIGKILL);
    ExpectWholeAgain(c, tree, 10s);
    ExpectTreePidsLive(c, tree, session);
  }
}

TEST_CASE("recovery: a subtree that exited at its orphan grace is started again from its data") {
  const std::vector<long> chain = {10, 5, 3, 2};
  DurableTree t(chain);
  auto& [c, pids, session] = t;
  // 10 cannot restart 5 while stopped: 3 and 2 are cut off past their grace and exit.
  REQUIRE(StopAndWait(pids[10]));
  REQUIRE(::kill(pids[5], SIGKILL) == 0);
  REQUIRE(WaitFor([&] { return !Alive(pids[3]) && !Alive(pids[2]); }, 8s));
  ::kill(pids[10], SIGCONT);
  ExpectWholeAgain(c, chain, 10s);
  ExpectTreePidsLive(c, chain, session);
}
