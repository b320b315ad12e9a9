// What the REPL offers on TAB, the hints it shows, and `help <verb>`: all derived from the
// same synopses `help` lists.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "completion.h"
#include "verb_usage.h"

namespace arbor::controller {
namespace {

using Words = std::vector<std::string>;

VerbCatalog Catalog() {
  VerbCatalog c;
  c["exec"] =
      VerbInfo{"exec", 1, 2, "<name> [value]", "set or get a variable", false, "dictionary"};
  c["ping"] = VerbInfo{"ping", 0, 0, "", "ping the node", false, "ping"};
  c["sleep"] = VerbInfo{"sleep", 1, 1, "<ms>", "sleep a while", true, "slow"};
  c["spin"] = VerbInfo{"spin", 0, 0, "", "answer at once", false, "slow"};
  return c;
}

const std::vector<NodeId> kIds = {-3, 4, 40, 41, 100};

TEST_CASE("usage: built-ins come from the help list, plugin verbs from their plugin") {
  VerbCatalog verbs = Catalog();
  auto create = FindUsage("create", verbs);
  REQUIRE(create);
  CHECK(create->synopsis == "create <id> [parent]");
  CHECK(create->plugin.empty());
  CHECK_THAT(create->help, Catch::StartsWith("start node <id> where BST insertion puts it"));
  auto tree = FindUsage("tree", verbs);
  REQUIRE(tree);
  CHECK(tree->synopsis == "tree [--dot]");
  CHECK_THAT(tree->help, Catch::EndsWith("(up/down/restarting/unreachable), pid and restart "
                                         "count, one line each (drawn as a tree, in colour, on "
                                         "a terminal); --dot: a Graphviz digraph"));
  CHECK(FindUsage("quit", verbs)->synopsis == "quit");
  CHECK(FindUsage("exit", verbs)->synopsis == "exit");
  CHECK(FindUsage("help", verbs)->synopsis == "help [verb]");
  CHECK(FindUsage("ping", verbs)->synopsis == "ping <id> [-c N [-i ms]]");
  auto exec = FindUsage("exec", verbs);
  REQUIRE(exec);
  CHECK(exec->synopsis == "exec <id> <name> [value]");
  CHECK(exec->help == "set or get a variable");
  CHECK(exec->plugin == "dictionary");
  CHECK(FindUsage("spin", verbs)->synopsis == "spin <id>");
  CHECK_FALSE(FindUsage("bogus", verbs));
  CHECK_FALSE(FindUsage("", verbs));
}

TEST_CASE("usage: every command, once, sorted") {
  CHECK(AllVerbs(Catalog()) == Words{"create", "exec", "exit", "help", "info", "ping",
                                      "pingall", "quit", "remove", "sleep", "spin", "tree"});
  CHECK(AllVerbs(VerbCatalog{}).size() == 9u);
}

TEST_CASE("usage: help for one verb names its plugin, or says it is built in") {
  VerbCatalog verbs = Catalog();
  CHECK(VerbHelp("exec", verbs) == Words{"  exec <id> <name> [value]",
                                         "  summary: set or get a variable",
                                         "  plugin: dictionary"});
  CHECK(VerbHelp("remove", verbs) == Words{"  remove <id>",
                                           "  summary: stop node <id> and its whole subtree",
                                           "  plugin: none (built into the controller)"});
  CHECK(VerbHelp("ping", verbs)[2] ==
        "  plugin: none (built into the controller); nodes answer it through plugin ping");
}

TEST_CASE("completion: the first word completes to a command") {
  VerbCatalog verbs = Catalog();
  CHECK(Completions("", verbs, kIds) == AllVerbs(verbs));
  CHECK(Completions("cr", verbs, kIds) == Words{"create"});
  CHECK(Completions("pi", verbs, kIds) == Words{"ping", "pingall"});
  CHECK(Completions("s", verbs, kIds) == Words{"sleep", "spin"});
  CHECK(Completions("  ex", verbs, kIds) == Words{"exec", "exit"});
  CHECK(Completions("x", verbs, kIds).empty());
}

TEST_CASE("completion: node ids where the synopsis takes an id") {
  VerbCatalog verbs = Catalog();
  CHECK(Completions("ping ", verbs, kIds) == Words{"-3", "4", "40", "41", "100"});
  CHECK(Completions("ping 4", verbs, kIds) == Words{"4", "40", "41"});
  CHECK(Completions("exec 10", verbs, kIds) == Words{"100"});
  CHECK(Completions("sleep -", verbs, kIds) == Words{"-3"});
  CHECK(Completions("remove 41", verbs, kIds) == Words{"41"});
  CHECK(Completions("info 5", verbs, kIds).empty());
  // create's own id is new, so nothing is offered; its parent is an existing node.
  CHECK(Completions("create ", verbs, kIds).empty());
  CHECK(Completions("create 7 4", verbs, kIds) == Words{"4", "40", "41"});
  // Past the id, and for commands that take none, there is nothing to offer.
  CHECK(Completions("exec 4 ", verbs, kIds).empty());
  CHECK(Completions("ping 4 4", verbs, kIds).empty());
  CHECK(Completions("pingall ", verbs, kIds).empty());
  CHECK(Completions("bogus 4", verbs, kIds).empty());
  CHECK(Completions("ping ", verbs, {}).empty());
}

TEST_CASE("completion: help completes to a command") {
  CHECK(Completions("help e", Catalog(), kIds) == Words{"exec", "exit"});
  CHECK(Completions("help exec ", Catalog(), kIds).empty());
}

TEST_CASE("hint: the rest of the synopsis after what is typed") {
  VerbCatalog verbs = Catalog();
  CHECK(Hint("exec", verbs) == " <id> <name> [value]");
  CHECK(Hint("exec ", verbs) == "<id> <name> [value]");
  CHECK(Hint("exec 10", verbs) == " <name> [value]");
  CHECK(Hint("exec 10 ", verbs) == "<name> [value]");
  CHECK(Hint("exec 10 x", verbs) == " [value]");
  CHECK(Hint("exec 10 x ", verbs) == "[value]");
  CHECK(Hint("exec 10 x 5", verbs).empty());
  CHECK(Hint("exec 10 x 5 6", verbs).empty());
  CHECK(Hint("  create  ", verbs) == "<id> [parent]");
  CHECK(Hint("help ", verbs) == "[verb]");
  CHECK(Hint("sleep 4 ", verbs) == "<ms>");
  CHECK(Hint("pingall", verbs).empty());
  CHECK(Hint("pingall ", verbs).empty());
  CHECK(Hint("ex", verbs).empty());
  CHECK(Hint("bogus ", verbs).empty());
  CHECK(Hint("", verbs).empty());
  CHECK(Hint("   ", verbs).empty());
}

}  // namespace
}  // namespace arbor::controller
