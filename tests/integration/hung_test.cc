// A hung node (SIGSTOP) costs one deadline for the commands sent to it, and nothing for the
// commands to other nodes.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>

#include "processes.h"
#include "tree_helpers.h"

using namespace arbor::testing;

namespace {

// At the prompt of `c` (slow.yaml, 5 s deadline): creates 10, 5 and 15, learns node 5's pid
// from `info`, and stops node 5.
pid_t StoppedFiveAtPrompt(ControllerProcess& c) {
  REQUIRE(c.ReadUntil("> ", 10s));
  for (const char* id : {"10", "5", "15"}) {
    c.Send(std::string("create ") + id);
    REQUIRE(c.ReadUntil("Ok: ", 10s));
  }
  REQUIRE(c.ReadUntil("> ", 10s));
  c.Send("info 5");
  REQUIRE(c.ReadUntil("Ok:5: pid=", 10s));
  auto rest = c.ReadUntil(" ", 10s);
  REQUIRE(rest);
  pid_t five = static_cast<pid_t>(std::stol(*rest));
  REQUIRE(StopAndWait(five));
  return five;
}

}  // namespace

TEST_CASE("batch: a command to a stopped node ends at the deadline, then the node recovers") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});  // deadline 500 ms
  auto pids = CreateAll(c, {10, 5, 15, 3});
  REQUIRE(StopAndWait(pids[5]));
  c.Send("exec 5 x\nexec 3 x\nexec 15 y 1\nexec 15 y\nping 5");
  CHECK(c.NextLine(10s) == "Error:5: Node is unavailable");
  CHECK(c.NextLine(10s) == "Error:3: Node is unavailable");  // below the stopped node
  CHECK(c.NextLine(10s) == "Ok:15");
  CHECK(c.NextLine(10s) == "Ok:15: 1");
  CHECK(c.NextLine(10s) == "Ok: 0");
  CHECK(c.Command("pingall", 10s) == "Ok: 3;5");
  REQUIRE(kill(pids[5], SIGCONT) == 0);
  CHECK(c.Command("exec 5 x 9") == "Ok:5");
  CHECK(c.Command("exec 3 x") == "Ok:3: 'x' not found");
  CHECK(c.Command("pingall") == "Ok: -1");
}

// The controller gives up on a create under a hung parent, but the parent still holds the
// request and starts the node when it wakes. Nothing may be lost or doubled: a second create
// finds the node that runs, and a sweep (pingall) puts it back in the controller's picture.
TEST_CASE("batch: a create that timed out under a hung parent is found again, not doubled") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});  // create budget 500 + 5000 ms
  auto pids = CreateAll(c, {10, 5, 15});
  REQUIRE(StopAndWait(pids[5]));
  c.Send("create 3\ncreate 7");  // both under node 5, on either side
  CHECK(c.NextLine(15s) == "Error: Parent is unavailable");
  CHECK(c.NextLine(15s) == "Error: Parent is unavailable");
  REQUIRE(kill(pids[5], SIGCONT) == 0);
  auto children_of_five = [&] {
    std::vector<pid_t> kids;
    for (pid_t p : NodesOfSession(c.session_marker())) {
      if (ParentOf(p) == pids[5]) kids.push_back(p);
    }
    return kids;
  };
  REQUIRE(WaitFor([&] { return children_of_five().size() == 2; }, 10s));

  std::string again = c.Command("create 3");
  pid_t three = PidOf(again);
  auto kids = children_of_five();
  CHECK(std::find(kids.begin(), kids.end(), three) != kids.end());
  CHECK(c.Command("exec 3 x 1") == "Ok:3");
  CHECK(c.Command("pingall") == "Ok: -1");  // and it finds node 7
  CHECK(c.Command("exec 7 y 2") == "Ok:7");
  CHECK(c.Command("create 7") == "Error: Already exists");
  CHECK(c.Command("info 5").find("left=3 right=7") != std::string::npos);
  CHECK(children_of_five().size() == 2);
}

// At a terminal, results print as they arrive, so the order of the lines proves that the
// command to the healthy node did not wait for the hung one.
TEST_CASE("repl: a hung node does not hold up commands to other nodes") {
  if (!ControllerProcess::PtyAvailable()) {
    WARN("no pseudo-terminal here (a chroot without /dev/pts?): REPL test skipped");
    return;
  }
  ControllerProcess c({"--config", TestConfig("slow.yaml")}, ControllerProcess::Mode::kPty);
  pid_t five = StoppedFiveAtPrompt(c);

  c.Send("exec 5 x");   // hangs until the 5 s deadline
  c.Send("exec 15 y 3");
  c.Send("exec 15 y");
  auto before = c.ReadUntil("Ok:15: 3", 10s);
  REQUIRE(before);
  CHECK(before->find("Node is unavailable") == std::string::npos);
  auto late = c.ReadUntil("[exec 5 x] Error:5: Node is unavailable", 10s);
  CHECK(late);
  kill(five, SIGCONT);
  c.Send("exit");
  CHECK(c.Wait(10s));
}

TEST_CASE("repl: a create under a hung node holds up neither commands nor other creates") {
  if (!ControllerProcess::PtyAvailable()) {
    WARN("no pseudo-terminal here (a chroot without /dev/pts?): REPL test skipped");
    return;
  }
  ControllerProcess c({"--config", TestConfig("slow.yaml")}, ControllerProcess::Mode::kPty);
  pid_t five = StoppedFiveAtPrompt(c);

  // Its parent would be node 5: it waits out the create budget (request_ms + start_ms = 10 s).
  c.Send("create 3");
  c.Send("create 20");  // lands under node 15: nothing to do with node 5
  c.Send("exec 20 y 4");
  c.Send("exec 20 y");
  auto before = c.ReadUntil("Ok:20: 4", 10s);
  REQUIRE(before);
  CHECK(before->find("create 3]") == std::string::npos);
  auto late = c.ReadUntil("[create 3] Error: Parent is unavailable", 15s);
  CHECK(late);
  kill(five, SIGCONT);
  c.Send("exit");
  CHECK(c.Wait(10s));
}

TEST_CASE("repl: a slow handler does not block forwarding through its node") {
  if (!ControllerProcess::PtyAvailable()) {
    WARN("no pseudo-terminal here (a chroot without /dev/pts?): REPL test skipped");
    return;
  }
  ControllerProcess c({"--config", TestConfig("slow.yaml")}, ControllerProcess::Mode::kPty);
  REQUIRE(c.ReadUntil("> ", 10s));
  for (const char* id : {"10", "5"}) {
    c.Send(std::string("create ") + id);
    REQUIRE(c.ReadUntil("Ok: ", 10s));
  }
  c.Send("sleep 10 3000");  // node 10 is busy in a blocking handler for 3 s
  c.Send("exec 5 z 1");     // routed through node 10
  auto through = c.ReadUntil("Ok:5", 10s);
  REQUIRE(through);
  CHECK(through->find("slept") == std::string::npos);
  CHECK(c.ReadUntil("Ok:10: slept", 10s));
  c.Send("exit");
  CHECK(c.Wait(10s));
}

TEST_CASE("repl: Ctrl-C clears the line and keeps the tree") {
  if (!ControllerProcess::PtyAvailable()) {
    WARN("no pseudo-terminal here (a chroot without /dev/pts?): REPL test skipped");
    return;
  }
  ControllerProcess c({}, ControllerProcess::Mode::kPty);
  REQUIRE(c.ReadUntil("> ", 10s));
  c.Send("create 4");
  REQUIRE(c.ReadUntil("Ok: ", 10s));
  c.Kill(SIGINT);
  REQUIRE(c.ReadUntil("^C", 10s));
  c.Send("exec 4 still 1");
  CHECK(c.ReadUntil("Ok:4", 10s));
  c.Send("quit");
  auto st = c.Wait(10s);
  REQUIRE(st);
  CHECK(WIFEXITED(*st));
}
