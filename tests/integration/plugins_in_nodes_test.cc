// Broken plugins in a deployment: each is reported clearly, and the nodes serve the rest.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "processes.h"
#include "tree_helpers.h"

using namespace arbor::testing;

TEST_CASE("nodes with broken plugins report them and keep serving their other verbs") {
  ControllerProcess c({"--config", TestConfig("broken_plugins.yaml")});
  CreateAll(c, {10, 5});
  CHECK(c.Command("exec 5 a 1") == "Ok:5");
  CHECK(c.Command("boom 5") == "Error:5: plugin 'thrower' failed in 'boom': kaboom");
  CHECK(c.Command("calm 5") == "Ok:5: fine");  // the same plugin's other verb
  CHECK(c.Command("exec 5 a") == "Ok:5: 1");   // nothing was lost
  CHECK(c.Command("ping 5") == "Ok: 1");
  CHECK(c.Command("info 5").find("plugins=dictionary,ping,thrower") != std::string::npos);
  std::string err = c.Stderr();
  CHECK(err.find("libarbor_noentry.so: no arbor entry point") != std::string::npos);
  CHECK(err.find("plugin API version mismatch: the plugin was built for v999, this runtime speaks v1") != std::string::npos);
  CHECK(err.find("arbor_test_symbol_that_does_not_exist") != std::string::npos);
  CHECK(err.find("refusing to start") != std::string::npos);
}

TEST_CASE("a plugin missing from the search path is reported, the rest load") {
  ControllerProcess c({"--config", TestConfig("bad_missing_plugin.yaml")});
  CHECK(c.Command("exec 10 a 1") == "Ok:10");
  CHECK(c.Stderr().find("plugin 'nosuchplugin': libarbor_nosuchplugin.so not found") != std::string::npos);
  CHECK(c.Command("ping 10") == "Error: node 10 cannot be pinged: it does not load the ping plugin");
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
