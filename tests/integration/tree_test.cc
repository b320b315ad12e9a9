// The tree's shape: BST placement, and each node's process is a child of its BST parent's.
#include <signal.h>

#include <optional>
#include <random>
#include <set>

#include <fmt/format.h>

#include "processes.h"
#include "tree_helpers.h"

using namespace arbor::testing;

TEST_CASE("seven creates build the BST, in processes and in the nodes' own view") {
  ControllerProcess c;
  auto pids = CreateAll(c, {50, 30, 70, 20, 40, 60, 80});
  // parent of each node, by BST insertion
  std::map<long, long> parent = {{30, 50}, {70, 50}, {20, 30}, {40, 30}, {60, 70}, {80, 70}};
  for (auto [child, p] : parent) {
    INFO("node " << child);
    CHECK(ParentOf(pids[child]) == pids[p]);
  }
  CHECK(ParentOf(pids[50]) == c.pid());
  CHECK(c.Command("info 50").find("left=30 right=70") != std::string::npos);
  CHECK(c.Command("info 30").find("left=20 right=40") != std::string::npos);
  CHECK(c.Command("info 70").find("left=60 right=80") != std::string::npos);
  CHECK(c.Command("info 20").find("left=- right=-") != std::string::npos);
  CHECK(c.Command("info 80").find("pid=" + std::to_string(pids[80])) != std::string::npos);
  CHECK(c.Command("create 40") == "Error: Already exists");
  CHECK(c.Command("create 45 999") .rfind("Ok: ", 0) == 0);  // the given parent is ignored
  CHECK(c.Command("info 40").find("right=45") != std::string::npos);
  CHECK(c.Command("pingall") == "Ok: -1");
}

// The controller runs creates that land in different places at once. Whatever ran in
// parallel, the tree must be the one that running the script line by line builds, and every
// command must see its node as the script order says it exists.
TEST_CASE("a script of creates runs in parallel and builds the tree that line-by-line order does") {
  std::mt19937 rng(20261123);
  std::vector<long> ids;
  std::set<long> seen;
  while (ids.size() < 60) {
    long id = static_cast<long>(rng() % 1000);
    if (seen.insert(id).second) ids.push_back(id);
  }
  ControllerProcess c;
  std::string script;
  script += "exec " + std::to_string(ids[0]) + " early\n";  // before its create: not there yet
  for (long id : ids) {
    script += "create " + std::to_string(id) + "\n";
    script += "exec " + std::to_string(id) + " v " + std::to_string(id) + "\n";
  }
  script += "create " + std::to_string(ids[7]) + "\n";  // a second create of the same id
  for (long id : ids) script += "exec " + std::to_string(id) + " v\n";
  c.Send(script);
  CHECK(c.NextLine() == "Error:" + std::to_string(ids[0]) + ": Not found");
  std::map<long, pid_t> pids;
  for (long id : ids) {
    pids[id] = PidOf(c.NextLine());
    CHECK(c.NextLine() == "Ok:" + std::to_string(id));
  }
  CHECK(c.NextLine() == "Error: Already exists");
  for (long id : ids) CHECK(c.NextLine() == fmt::format("Ok:{}: {}", id, id));

  // The BST that inserting `ids` in order builds, and each node's process under its parent's.
  std::map<long, long> parent;
  std::map<long, std::pair<std::optional<long>, std::optional<long>>> kids;
  for (std::size_t i = 1; i < ids.size(); ++i) {
    long at = ids[0];
    for (;;) {
      auto& side = ids[i] < at ? kids[at].first : kids[at].second;
      if (!side) {
        side = ids[i];
        parent[ids[i]] = at;
        break;
      }
      at = *side;
    }
  }
  CHECK(ParentOf(pids[ids[0]]) == c.pid());
  for (auto [child, p] : parent) {
    INFO("node " << child << ", BST parent " << p);
    CHECK(ParentOf(pids[child]) == pids[p]);
  }
  CHECK(c.Command("pingall") == "Ok: -1");
}

TEST_CASE("a chain of sorted ids routes through every hop") {
  ControllerProcess c;
  std::vector<long> ids;
  for (long i = 1; i <= 20; ++i) ids.push_back(i);
  auto pids = CreateAll(c, ids);
  for (long i = 2; i <= 20; ++i) CHECK(ParentOf(pids[i]) == pids[i - 1]);
  CHECK(c.Command("exec 20 deep 7") == "Ok:20");
  CHECK(c.Command("exec 20 deep") == "Ok:20: 7");
  CHECK(c.Command("ping 20") == "Ok: 1");
}

TEST_CASE("negative and extreme ids are ordinary keys") {
  ControllerProcess c;
  CreateAll(c, {0, -5, 9223372036854775807, -9223372036854775807 - 1});
  CHECK(c.Command("exec -9223372036854775808 a -1") == "Ok:-9223372036854775808");
  CHECK(c.Command("exec -9223372036854775808 a") == "Ok:-9223372036854775808: -1");
  CHECK(c.Command("ping 9223372036854775807") == "Ok: 1");
  CHECK(c.Command("info -5").find("left=-9223372036854775808") != std::string::npos);
}

TEST_CASE("a deployment YAML brings the tree up before the first command") {
  ControllerProcess c({"--config", std::string(ARBOR_SOURCE_DIR) + "/configs/tree7.yaml"});
  CHECK(c.Command("info 50").find("left=30 right=70") != std::string::npos);
  CHECK(c.Command("pingall") == "Ok: -1");
  CHECK(c.Command("exec 80 x 1") == "Ok:80");
  // Node 80 loads only the dictionary: it cannot be pinged, and ping says why.
  CHECK(c.Command("ping 80") == "Error: node 80 cannot be pinged: it does not load the ping plugin");
  CHECK(c.Command("info 80").find("plugins=dictionary") != std::string::npos);
  CHECK(c.Command("create 50") == "Error: Already exists");
}
