// remove: a node and its whole subtree go away, processes included, and the tree stays usable.
#include <signal.h>

#include "processes.h"
#include "tree_helpers.h"

using namespace arbor::testing;

TEST_CASE("remove of an inner node stops its subtree and nothing else") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});
  auto pids = CreateAll(c, {50, 30, 70, 20, 40, 60, 80});
  CHECK(c.Command("exec 70 keep 1") == "Ok:70");
  CHECK(c.Command("remove 30") == "Ok");
  for (long id : {30, 20, 40}) {
    INFO("node " << id);
    CHECK(WaitFor([&] { return !Alive(pids[id]); }, 5s));
    CHECK(c.Command("ping " + std::to_string(id)) == "Error: Not found");
    CHECK(c.Command("exec " + std::to_string(id) + " x") == "Error:" + std::to_string(id) + ": Not found");
  }
  for (long id : {50, 70, 60, 80}) CHECK(Alive(pids[id]));
  CHECK(c.Command("exec 70 keep") == "Ok:70: 1");
  CHECK(c.Command("pingall") == "Ok: -1");
  CHECK(c.Command("remove 30") == "Error: Not found");
  // The slot is free again: a new 30 goes back under 50.
  pid_t again = PidOf(c.Command("create 30"));
  CHECK(ParentOf(again) == pids[50]);
  CHECK(c.Command("info 50").find("left=30") != std::string::npos);
}

TEST_CASE("remove of the root empties the tree, and it can be rebuilt") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});
  auto pids = CreateAll(c, {10, 5, 15});
  CHECK(c.Command("remove 10") == "Ok");
  for (auto [id, pid] : pids) CHECK(WaitFor([pid = pid] { return !Alive(pid); }, 5s));
  CHECK(c.Command("pingall") == "Ok: -1");
  CHECK(c.Command("ping 5") == "Error: Not found");
  CHECK(c.Command("create 7").rfind("Ok: ", 0) == 0);
  CHECK(c.Command("exec 7 a 1") == "Ok:7");
}

TEST_CASE("remove of a dead or hung node clears it and its subtree") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});  // grace 1 s
  auto pids = CreateAll(c, {50, 30, 20, 70, 60});
  SECTION("dead") {
    REQUIRE(kill(pids[30], SIGKILL) == 0);
    CHECK(c.Command("remove 30") == "Ok");
    // Its cut-off child goes too, after its grace period.
    CHECK(WaitFor([&] { return !Alive(pids[20]); }, 10s));
  }
  SECTION("hung") {
    REQUIRE(StopAndWait(pids[70]));
    CHECK(c.Command("remove 70") == "Ok");
    CHECK(WaitFor([&] { return !Alive(pids[70]); }, 5s));
    CHECK(WaitFor([&] { return !Alive(pids[60]); }, 10s));
  }
  CHECK(c.Command("pingall") == "Ok: -1");
  CHECK(c.Command("exec 50 a 1") == "Ok:50");
}

TEST_CASE("remove below a dead node reports the node unavailable") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});
  auto pids = CreateAll(c, {50, 30, 20, 10});
  REQUIRE(kill(pids[30], SIGKILL) == 0);
  REQUIRE(WaitFor([&] { return !Alive(pids[30]); }, 5s));
  CHECK(c.Command("remove 10") == "Error: Node is unavailable");
  CHECK(c.Command("remove 77") == "Error: Not found");
}
