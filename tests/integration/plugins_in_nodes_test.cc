// Plugins in a deployment. One that cannot be found or loaded stops the deployment at start,
// naming the plugin: before, it was only logged, and a typo in `plugins: load:` silently took a
// verb away from every node. One that loads but throws is contained per call.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "processes.h"
#include "tree_helpers.h"

using namespace arbor::testing;

TEST_CASE("a deployment naming plugins that cannot be loaded does not start") {
  ControllerProcess c({"--config", TestConfig("broken_plugins.yaml")});
  std::optional<int> st = c.Wait(10s);
  REQUIRE(st);
  REQUIRE(WIFEXITED(*st));
  CHECK(WEXITSTATUS(*st) == 2);
  std::string err = c.Stderr();
  CHECK(err.find("plugin 'noentry': ") != std::string::npos);
  CHECK(err.find("libarbor_noentry.so: no arbor entry point") != std::string::npos);
  CHECK(err.find("plugin 'wrongversion': ") != std::string::npos);
  CHECK(err.find("plugin API version mismatch: the plugin was built for v999, this runtime speaks v1") != std::string::npos);
  CHECK(err.find("plugin 'missingsymbol': ") != std::string::npos);
  CHECK(err.find("arbor_test_symbol_that_does_not_exist") != std::string::npos);
  CHECK(NodesOfSession(c.session_marker()).empty());
}

TEST_CASE("a plugin missing from the search path stops the deployment and names where it looked") {
  ControllerProcess c({"--config", TestConfig("bad_missing_plugin.yaml")});
  std::optional<int> st = c.Wait(10s);
  REQUIRE(st);
  REQUIRE(WIFEXITED(*st));
  CHECK(WEXITSTATUS(*st) == 2);
  CHECK(c.Stderr() == "arbor: " + TestConfig("bad_missing_plugin.yaml") +
                          ": plugin 'nosuchplugin': libarbor_nosuchplugin.so not found "
                          "(looked in: " + BinDir() +
                          "/../lib/arbor/plugins/libarbor_nosuchplugin.so)\n");
  CHECK(NodesOfSession(c.session_marker()).empty());
}

TEST_CASE("a plugin whose init fails on the node makes create fail with its reason") {
  ControllerProcess c({"--config", TestConfig("failinit_plugin.yaml")});
  std::string created = c.Command("create 10");
  CHECK(created.rfind("Error: node 10 failed to start: plugin 'failinit' (", 0) == 0);
  CHECK(created.find("init failed: refusing to start") != std::string::npos);
  CHECK(c.Command("ping 10") == "Error: Not found");
  CHECK(c.Command("pingall") == "Ok: -1");
  CHECK(WaitFor([&] { return NodesOfSession(c.session_marker()).empty(); }, 5s));
}

TEST_CASE("a plugin whose handler throws is contained per call and the node keeps serving") {
  ControllerProcess c({"--config", TestConfig("thrower_plugin.yaml")});
  CreateAll(c, {10, 5});
  CHECK(c.Command("exec 5 a 1") == "Ok:5");
  CHECK(c.Command("boom 5") == "Error:5: plugin 'thrower' failed in 'boom': kaboom");
  CHECK(c.Command("calm 5") == "Ok:5: fine");  // the same plugin's other verb
  CHECK(c.Command("exec 5 a") == "Ok:5: 1");   // nothing was lost
  CHECK(c.Command("ping 5") == "Ok: 1");
  CHECK(c.Command("info 5").find("plugins=dictionary,ping,thrower") != std::string::npos);
}

// Nodes get the config the controller validated at start, not whatever the file says later:
// one tree, one config. Before the handoff, each node read the file itself, so a node created
// after an edit ran a different config, and one created after a bad edit failed to start.
TEST_CASE("editing the config file while the tree runs changes nothing for new nodes") {
  std::string path = "/tmp/arbor-edit-test-" + std::to_string(getpid()) + ".yaml";
  {
    std::ofstream out(path);
    out << "timeouts: {request_ms: 1500}\n"
           "plugins:\n"
           "  search_path: [\"" << BinDir() << "/../lib/arbor/plugins\"]\n"
           "  load: [dictionary, ping]\n";
  }
  ControllerProcess c({"--config", path});
  CHECK(c.Command("create 10").rfind("Ok: ", 0) == 0);
  {
    std::ofstream out(path, std::ios::trunc);
    out << "plugins: {load: [nosuchplugin]\n";  // not even valid YAML
  }
  CHECK(c.Command("create 5").rfind("Ok: ", 0) == 0);
  CHECK(c.Command("ping 5") == "Ok: 1");
  CHECK(c.Command("exec 5 k 1") == "Ok:5");
  CHECK(c.Command("info 5").find("plugins=dictionary,ping") != std::string::npos);
  std::remove(path.c_str());
}
