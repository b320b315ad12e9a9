// kill -9 of nodes: ancestors keep working, the dead subtree is reported exactly, and the
// answer comes from connection loss, not from a deadline.
#include <signal.h>

#include <thread>

#include "processes.h"
#include "tree_helpers.h"

using namespace arbor::testing;

TEST_CASE("kill -9 of an inner node: ancestors answer, the subtree is unavailable") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});
  auto pids = CreateAll(c, {50, 30, 70, 20, 40, 60, 80, 35});
  CHECK(c.Command("exec 50 a 1") == "Ok:50");
  REQUIRE(kill(pids[30], SIGKILL) == 0);
  REQUIRE(WaitFor([&] { return !Alive(pids[30]); }, 5s));

  CHECK(c.Command("exec 50 a") == "Ok:50: 1");  // the ancestor
  CHECK(c.Command("ping 50") == "Ok: 1");
  for (long id : {30, 20, 40, 35}) {
    INFO("node " << id);
    CHECK(c.Command("ping " + std::to_string(id)) == "Ok: 0");
    CHECK(c.Command("exec " + std::to_string(id) + " x") ==
          "Error:" + std::to_string(id) + ": Node is unavailable");
  }
  for (long id : {70, 60, 80}) {  // the other side of the tree is untouched
    CHECK(c.Command("exec " + std::to_string(id) + " y 2") == "Ok:" + std::to_string(id));
  }
  CHECK(c.Command("pingall") == "Ok: 20;30;35;40");
  // tree: the dead node as its parent reports it, the nodes below it unreachable. The parent
  // learns of the death twice: its link to 30 breaks (which the answers above show) and it
  // reaps 30 (which tree shows); on a loaded machine the reaping thread may come second.
  std::string tree;
  const std::string down = "  30 down pid=- restarts=0";  // its process is gone: no pid
  WaitFor(
      [&] {
        c.Send("tree");
        tree.clear();
        for (int i = 0; i < 8; ++i) tree += c.NextLine() + "\n";
        return tree.find(down) != std::string::npos;
      },
      5s);
  INFO(tree);
  CHECK(tree.find(down) != std::string::npos);
  CHECK(tree.find("    20 unreachable") != std::string::npos);
  CHECK(tree.find("50 up pid=" + std::to_string(pids[50])) != std::string::npos);
  CHECK(c.Command("ping 99") == "Error: Not found");
  CHECK(c.Command("create 33") == "Error: Parent is unavailable");
  CHECK(c.Command("create 90").rfind("Ok: ", 0) == 0);  // the live side still grows
}

TEST_CASE("kill -9 of a leaf and of the root") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});
  auto pids = CreateAll(c, {10, 5, 15});
  REQUIRE(kill(pids[15], SIGKILL) == 0);
  REQUIRE(WaitFor([&] { return !Alive(pids[15]); }, 5s));
  CHECK(c.Command("pingall") == "Ok: 15");
  REQUIRE(kill(pids[10], SIGKILL) == 0);
  REQUIRE(WaitFor([&] { return !Alive(pids[10]); }, 5s));
  CHECK(c.Command("ping 10") == "Ok: 0");
  CHECK(c.Command("exec 5 x") == "Error:5: Node is unavailable");
  CHECK(c.Command("pingall") == "Ok: 5;10;15");
}

// The deadline here is 60 s and every read gives up after 10 s: an answer can only arrive
// through connection-loss detection (pipe tracking and ECONNRESET), never by timing out.
TEST_CASE("a killed node is reported through connection loss, not the deadline") {
  ControllerProcess c({"--config", TestConfig("long_deadline.yaml")});
  auto pids = CreateAll(c, {10, 5, 3});

  SECTION("new requests after the kill") {
    REQUIRE(kill(pids[5], SIGKILL) == 0);
    REQUIRE(WaitFor([&] { return !Alive(pids[5]); }, 5s));
    CHECK(c.Command("ping 5", 10s) == "Ok: 0");
    CHECK(c.Command("exec 3 x", 10s) == "Error:3: Node is unavailable");
  }
  SECTION("a request in flight when the node dies") {
    c.Send("sleep 5 30000");  // the handler holds the request for 30 s
    std::this_thread::sleep_for(200ms);
    REQUIRE(kill(pids[5], SIGKILL) == 0);
    CHECK(c.NextLine(10s) == "Error:5: Node is unavailable");
    CHECK(c.Command("exec 10 still 1", 10s) == "Ok:10");
  }
}

TEST_CASE("every node of a 15-node tree killed in turn leaves its ancestors working") {
  std::vector<long> order = {80, 40, 120, 20, 60, 100, 140, 10, 30, 50, 70, 90, 110, 130, 150};
  for (long victim : {20L, 100L, 150L, 40L}) {
    ControllerProcess c({"--config", TestConfig("fast.yaml")});
    auto pids = CreateAll(c, order);
    REQUIRE(kill(pids[victim], SIGKILL) == 0);
    REQUIRE(WaitFor([&] { return !Alive(pids[victim]); }, 5s));
    // Walk down from the root to the victim: every node on the way must answer.
    long at = 80, step = 40;
    while (at != victim) {
      INFO("ancestor " << at << " of " << victim);
      CHECK(c.Command("exec " + std::to_string(at) + " k 1") == "Ok:" + std::to_string(at));
      at = victim < at ? at - step : at + step;
      step /= 2;
    }
    // In this balanced tree the victim's descendants sit less than 2*step away from it.
    std::string expect;
    for (long id : {10L, 20L, 30L, 40L, 50L, 60L, 70L, 80L, 90L, 100L, 110L, 120L, 130L, 140L, 150L}) {
      if (id > victim - 2 * step && id < victim + 2 * step) {
        expect += (expect.empty() ? "" : ";") + std::to_string(id);
      }
    }
    INFO("victim " << victim);
    CHECK(c.Command("pingall") == "Ok: " + expect);
  }
}

// Regression: the parent of a node left down (restart: never, or no restart left in its budget)
// redialed the dead address forever, about 15 refused connects a second, each one spinning
// nng's poller thread (docs/under-the-hood.md, "What the trace shows"). Counted as wake-ups of
// the parent's threads over 2 s: idle, a node wakes a few times a second (its supervisor's
// 500 ms tick); redialing, some hundreds of times. The dead node keeps its slot all the same.
TEST_CASE("the parent of a node left down stops dialing it, and still reports it") {
  std::string config = GENERATE(std::string("fast.yaml"), std::string("no_restarts_left.yaml"));
  INFO("config " << config);
  ControllerProcess c({"--config", TestConfig(config)});
  auto pids = CreateAll(c, {10, 5, 15});
  REQUIRE(kill(pids[15], SIGKILL) == 0);
  REQUIRE(WaitFor([&] { return !Alive(pids[15]); }, 5s));
  std::this_thread::sleep_for(1s);  // the parent has long seen it die
  long before = WakeUps(pids[10]);
  std::this_thread::sleep_for(2s);
  CHECK(WakeUps(pids[10]) - before < 40);

  CHECK(c.Command("ping 15") == "Ok: 0");
  CHECK(c.Command("exec 15 x") == "Error:15: Node is unavailable");
  CHECK(c.Command("pingall") == "Ok: 15");
  c.Send("tree");
  std::string tree;
  for (int i = 0; i < 3; ++i) tree += c.NextLine() + "\n";
  CHECK(tree.find("  15 down pid=- restarts=0") != std::string::npos);  // gone: no pid
  CHECK(c.Command("exec 5 y 1") == "Ok:5");  // the live sibling, through the same parent
  CHECK(c.Command("remove 15") == "Ok");
  CHECK(c.Command("pingall") == "Ok: -1");
  CHECK(c.Command("create 15").rfind("Ok: ", 0) == 0);  // the slot is free again
  CHECK(c.Command("exec 15 z 1") == "Ok:15");
}

// Regression: the controller's supervisor, which has no parent to watch, ticked every 50 ms for
// the whole session. Idle, it now ticks every 500 ms: 4 wake-ups in 2 s, 40 before.
TEST_CASE("an idle controller does not tick fast") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});
  CreateAll(c, {10, 5});
  std::this_thread::sleep_for(500ms);
  long before = WakeUps(c.pid());
  std::this_thread::sleep_for(2s);
  CHECK(WakeUps(c.pid()) - before < 25);
}
