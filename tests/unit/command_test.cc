// The controller's command parser: every builtin, plugin verbs with arity, and bad input.
#include <string>

#include <catch2/catch.hpp>

#include "command.h"
#include "verb_usage.h"

namespace arbor::controller {
namespace {

VerbCatalog Catalog() {
  VerbCatalog c;
  c["exec"] = VerbInfo{"exec", 1, 2, "<name> [value]", "set or get a variable", false, "dictionary"};
  c["ping"] = VerbInfo{"ping", 0, 0, "", "ping the node", false, "ping"};
  c["touch"] = VerbInfo{"touch", 0, 0, "", "no arguments at all", false, "extras"};
  return c;
}

// Parses a line that must be a command (not blank) and returns the result.
Result<Command> Parse(const std::string& line, const VerbCatalog& verbs = Catalog()) {
  std::optional<Result<Command>> c = ParseCommand(line, verbs);
  INFO("line: '" << line << "'");
  REQUIRE(c.has_value());
  return *c;
}

Command Good(const std::string& line, const VerbCatalog& verbs = Catalog()) {
  Result<Command> c = Parse(line, verbs);
  INFO("line: '" << line << "': " << c.status().ToString());
  REQUIRE(c.ok());
  return *c;
}

std::string Bad(const std::string& line, const VerbCatalog& verbs = Catalog()) {
  Result<Command> c = Parse(line, verbs);
  INFO("line: '" << line << "'");
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Code::kInvalidArgument);
  return c.status().message();
}

TEST_CASE("command: blank lines and comments are not commands") {
  VerbCatalog verbs = Catalog();
  for (const char* line : {"", " ", "\t", "   \t  ", "\n", "\r\n", "# a comment", "   # indented",
                           "#create 5"}) {
    INFO("line: '" << line << "'");
    CHECK_FALSE(ParseCommand(line, verbs).has_value());
  }
}

TEST_CASE("command: create with and without a parent") {
  Command c = Good("create 10");
  CHECK(c.kind == CommandKind::kCreate);
  CHECK(c.id == 10);
  CHECK(c.text == "create 10");

  Command p = Good("create 12 10");
  CHECK(p.kind == CommandKind::kCreate);
  CHECK(p.id == 12);

  Command neg = Good("create -9223372036854775808");
  CHECK(neg.id == INT64_MIN);
  CHECK(Good("create 9223372036854775807").id == INT64_MAX);
  CHECK(Good("create 0 -1").id == 0);
}

TEST_CASE("command: create with a bad parent or a bad id") {
  CHECK_THAT(Bad("create 12 abc"), Catch::Contains("invalid parent id 'abc'"));
  CHECK_THAT(Bad("create 12 1.5"), Catch::Contains("invalid parent id '1.5'"));
  for (const char* id : {"abc", "1.5", "99999999999999999999", "-99999999999999999999", "+5",
                         "0x10", "5a", "--1"}) {
    INFO(id);
    std::string m = Bad(std::string("create ") + id);
    CHECK_THAT(m, Catch::Contains(std::string("invalid node id '") + id + "'"));
  }
}

TEST_CASE("command: remove ping info") {
  Command r = Good("remove 4");
  CHECK(r.kind == CommandKind::kRemove);
  CHECK(r.id == 4);
  Command p = Good("ping -4");
  CHECK(p.kind == CommandKind::kPing);
  CHECK(p.id == -4);
  Command i = Good("info 0");
  CHECK(i.kind == CommandKind::kInfo);
  CHECK(i.id == 0);
  CHECK_THAT(Bad("remove x"), Catch::Contains("invalid node id 'x'"));
  CHECK_THAT(Bad("ping 1.5"), Catch::Contains("invalid node id '1.5'"));
  CHECK_THAT(Bad("info 99999999999999999999"), Catch::Contains("invalid node id"));
}

TEST_CASE("command: builtins with the wrong number of arguments") {
  CHECK(Bad("create") == "usage: create <id> [parent]");
  CHECK(Bad("create 1 2 3") == "usage: create <id> [parent]");
  CHECK(Bad("remove") == "usage: remove <id>");
  CHECK(Bad("remove 1 2") == "usage: remove <id>");
  CHECK(Bad("ping") == "usage: ping <id> [-c count [-i ms]]");
  CHECK(Bad("ping 1 2") == "usage: ping <id> [-c count [-i ms]]");
  CHECK(Bad("tree 1") == "usage: tree [--dot]");
  CHECK(Bad("tree --dot 1") == "usage: tree [--dot]");
  CHECK(Bad("info") == "usage: info <id> [--limits]");
  CHECK(Bad("info 1 2") == "usage: info <id> [--limits]");
  CHECK(Bad("info 1 --limits 2") == "usage: info <id> [--limits]");
  CHECK(Good("info 7 --limits").args == std::vector<std::string>{"limits"});
  CHECK(Good("info 7").args.empty());
  CHECK(Bad("pingall 1") == "usage: pingall");
  CHECK(Bad("help exec ping") == "usage: help [verb]");
  CHECK(Bad("exit now") == "usage: exit");
  CHECK(Bad("quit 0") == "usage: quit");
}

TEST_CASE("command: ping series options and their bounds") {
  Command plain = Good("ping 4");
  CHECK(plain.count == 0);  // the single SPEC ping
  Command c = Good("ping 4 -c 3");
  CHECK(c.kind == CommandKind::kPing);
  CHECK(c.id == 4);
  CHECK(c.count == 3);
  CHECK(c.interval_ms == 1000);
  Command i = Good("ping -4 -i 10 -c 10000");
  CHECK(i.id == -4);
  CHECK(i.count == 10000);
  CHECK(i.interval_ms == 10);
  CHECK(Good("ping 4 -c 1 -i 60000").interval_ms == 60000);
  for (const char* n : {"0", "-1", "10001", "x", "2.5", "3x", "99999999999"}) {
    CHECK_THAT(Bad(std::string("ping 4 -c ") + n),
               Catch::Contains("invalid count '" + std::string(n) + "': -c takes 1 to 10000"));
  }
  for (const char* ms : {"9", "0", "-5", "60001", "fast"}) {
    CHECK_THAT(Bad(std::string("ping 4 -c 2 -i ") + ms),
               Catch::Contains("invalid interval '" + std::string(ms) + "': -i takes 10 to 60000"));
  }
  CHECK(Bad("ping 4 -i 100") == "-i needs -c: ping <id> -c count -i ms");
  CHECK(Bad("ping 4 -c") == "usage: ping <id> [-c count [-i ms]]");
  CHECK(Bad("ping 4 -c 2 -c 3") == "usage: ping <id> [-c count [-i ms]]");
  CHECK(Bad("ping 4 -w 2") == "usage: ping <id> [-c count [-i ms]]");
  CHECK_THAT(Bad("ping x -c 2"), Catch::Contains("invalid node id 'x'"));
}

TEST_CASE("command: tree and tree --dot") {
  CHECK_FALSE(Good("tree").dot);
  Command d = Good("tree --dot");
  CHECK(d.kind == CommandKind::kTree);
  CHECK(d.dot);
}

TEST_CASE("command: pingall help exit quit") {
  CHECK(Good("pingall").kind == CommandKind::kPingAll);
  CHECK(Good("help").kind == CommandKind::kHelp);
  CHECK(Good("help").verb.empty());
  CHECK(Good("exit").kind == CommandKind::kExit);
  CHECK(Good("quit").kind == CommandKind::kExit);
  CHECK(Good("  quit  ").text == "quit");
}

TEST_CASE("command: help with a verb names it, and an unknown one is a bad line") {
  Command exec = Good("help exec");
  CHECK(exec.kind == CommandKind::kHelp);
  CHECK(exec.verb == "exec");
  CHECK(Good("help create").verb == "create");
  CHECK(Good("help quit").verb == "quit");
  CHECK(Bad("help me") == "unknown command 'me' (type 'help' for the list)");
  CHECK(Bad("help Exec") == "unknown command 'Exec' (type 'help' for the list)");
}

TEST_CASE("command: builtins are not shadowed by plugin verbs") {
  // The ping plugin serves a verb called "ping"; the builtin still parses it.
  Command p = Good("ping 3");
  CHECK(p.kind == CommandKind::kPing);
  CHECK(p.verb.empty());
  for (const char* w : {"create", "remove", "ping", "pingall", "info", "help", "exit", "quit"}) {
    CHECK(IsBuiltin(w));
  }
  CHECK_FALSE(IsBuiltin("exec"));
  CHECK_FALSE(IsBuiltin("Create"));
  CHECK_FALSE(IsBuiltin(""));
}

TEST_CASE("command: an unknown verb") {
  std::string m = Bad("frobnicate 1 2");
  CHECK_THAT(m, Catch::Contains("unknown command 'frobnicate'"));
  CHECK_THAT(Bad("exec 1 a", VerbCatalog{}), Catch::Contains("unknown command 'exec'"));
  CHECK_THAT(Bad("CREATE 1"), Catch::Contains("unknown command 'CREATE'"));
}

TEST_CASE("command: a plugin verb with its arity") {
  Command get = Good("exec 10 MyVar");
  CHECK(get.kind == CommandKind::kVerb);
  CHECK(get.id == 10);
  CHECK(get.verb == "exec");
  CHECK(get.args == std::vector<std::string>{"MyVar"});
  CHECK(get.text == "exec 10 MyVar");

  Command set = Good("exec 10 MyVar 5");
  CHECK(set.kind == CommandKind::kVerb);
  CHECK(set.id == 10);
  CHECK(set.verb == "exec");
  CHECK(set.args == std::vector<std::string>{"MyVar", "5"});

  CHECK(Bad("exec") == "usage: exec <id> <name> [value]");
  CHECK(Bad("exec 10") == "usage: exec <id> <name> [value]");
  CHECK(Bad("exec 10 a 1 2") == "usage: exec <id> <name> [value]");
  CHECK_THAT(Bad("exec ten MyVar"), Catch::Contains("invalid node id 'ten'"));

  Command touch = Good("touch 3");
  CHECK(touch.kind == CommandKind::kVerb);
  CHECK(touch.args.empty());
  CHECK(Bad("touch") == "usage: touch <id>");
  CHECK(Bad("touch 3 x") == "usage: touch <id>");
}

TEST_CASE("command: the text is the trimmed line") {
  Command c = Good("  \t exec   10  MyVar   5 \t\r\n");
  CHECK(c.text == "exec   10  MyVar   5");
  CHECK(c.args == std::vector<std::string>{"MyVar", "5"});
  CHECK(Good("create 5\n").text == "create 5");
}

TEST_CASE("command: ParseNodeId takes whole decimal 64-bit integers only") {
  CHECK(ParseNodeId("0") == NodeId{0});
  CHECK(ParseNodeId("-17") == NodeId{-17});
  CHECK(ParseNodeId("9223372036854775807") == INT64_MAX);
  CHECK(ParseNodeId("-9223372036854775808") == INT64_MIN);
  CHECK_FALSE(ParseNodeId("9223372036854775808").has_value());
  CHECK_FALSE(ParseNodeId("").has_value());
  CHECK_FALSE(ParseNodeId(" 1").has_value());
  CHECK_FALSE(ParseNodeId("1 ").has_value());
  CHECK_FALSE(ParseNodeId("-").has_value());
  CHECK_FALSE(ParseNodeId("1e3").has_value());
}

TEST_CASE("command: help lists builtins and plugin verbs with their plugin") {
  std::vector<std::string> help = HelpText(Catalog());
  auto find = [&](const std::string& prefix) -> std::string {
    for (const std::string& line : help) {
      if (line.rfind(prefix, 0) == 0) return line;
    }
    return "";
  };
  for (const char* builtin : {"create <id> [parent]", "remove <id>", "ping <id>", "pingall",
                              "info <id>", "help", "exit | quit"}) {
    INFO(builtin);
    CHECK_FALSE(find(builtin).empty());
  }
  std::string exec = find("exec <id> <name> [value]");
  REQUIRE_FALSE(exec.empty());
  CHECK_THAT(exec, Catch::Contains("set or get a variable"));
  CHECK_THAT(exec, Catch::EndsWith("[plugin dictionary]"));
  std::string touch = find("touch <id> ");
  CHECK_THAT(touch, Catch::Contains("no arguments at all [plugin extras]"));

  // The ping plugin's verb is a builtin: it is not listed a second time. The series and the
  // Graphviz form are options of their commands, on the same entry.
  int ping_lines = 0;
  for (const std::string& line : help) {
    ping_lines += line.rfind("ping <id>", 0) == 0;
    CHECK_THAT(line, !Catch::Contains("[plugin ping]"));
  }
  CHECK(ping_lines == 1);
  CHECK_FALSE(find("ping <id> [-c N [-i ms]]").empty());
  CHECK_FALSE(find("tree [--dot]").empty());
  CHECK(help.size() == 12u + 2u);

  CHECK(HelpText(VerbCatalog{}).size() == 12u);
}

TEST_CASE("command: a plugin's help text is shown escaped on its own line") {
  VerbCatalog verbs;
  verbs["odd"] = VerbInfo{"odd", 0, 0, "<x>\n", "clears\x1b[2J the screen", false, "evil"};
  std::vector<std::string> help = HelpText(verbs);
  REQUIRE(help.size() == 13u);
  CHECK(help.back() == "odd <id> <x>\\n" + std::string(14, ' ') + "clears\\x1b[2J the screen [plugin evil]");
  // help <verb> and the hints read the same strings: escaped there too.
  std::optional<VerbUsage> usage = FindUsage("odd", verbs);
  REQUIRE(usage);
  CHECK(usage->synopsis == "odd <id> <x>\\n");
  CHECK(usage->help == "clears\\x1b[2J the screen");
}

}  // namespace
}  // namespace arbor::controller
