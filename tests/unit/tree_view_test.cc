// The three forms of `tree`: the SPEC text, the terminal picture, Graphviz.
#include <catch2/catch.hpp>

#include "tree_view.h"

namespace arbor::controller {
namespace {

// 50 with children 30 (children 20, 40) and 80 (a right child, 90).
std::vector<TreeRow> Rows() {
  return {{50, std::nullopt, 0, "up", 100, 0, std::nullopt},
          {30, 50, 1, "up", 101, 0, std::nullopt},
          {20, 30, 2, "down", 102, 1, std::nullopt},
          {40, 30, 2, "restarting", 103, 2, std::nullopt},
          {80, 50, 1, "unreachable", 104, 0, std::nullopt},
          {90, 80, 2, "unreachable", 105, 0, std::nullopt}};
}

TEST_CASE("tree view: text is the SPEC form") {
  CHECK(TreeText(Rows()) ==
        "50 up pid=100 restarts=0\n"
        "  30 up pid=101 restarts=0\n"
        "    20 down pid=102 restarts=1\n"
        "    40 restarting pid=103 restarts=2\n"
        "  80 unreachable pid=104 restarts=0\n"
        "    90 unreachable pid=105 restarts=0");
  std::vector<TreeRow> hosts = {{1, std::nullopt, 0, "up", 7, 0, std::string("h1")}};
  CHECK(TreeText(hosts) == "1 up pid=7 restarts=0 host=h1");
  CHECK(TreeText({}) == "(empty tree)");
}

TEST_CASE("tree view: the picture draws branches as tree(1) does") {
  CHECK(TreePicture(Rows(), false) ==
        "50 up pid=100 restarts=0\n"
        "├── 30 up pid=101 restarts=0\n"
        "│   ├── 20 down pid=102 restarts=1\n"
        "│   └── 40 restarting pid=103 restarts=2\n"
        "└── 80 unreachable pid=104 restarts=0\n"
        "    └── 90 unreachable pid=105 restarts=0");
  std::string colour = TreePicture(Rows(), true);
  CHECK(colour.find("\x1b[32mup\x1b[0m") != std::string::npos);
  CHECK(colour.find("\x1b[33mrestarting\x1b[0m") != std::string::npos);
  CHECK(colour.find("\x1b[35munreachable\x1b[0m") != std::string::npos);
  CHECK(TreePicture({}, true) == "(empty tree)");
}

TEST_CASE("tree view: Graphviz has a node per tree node and an edge per link") {
  std::vector<TreeRow> rows = Rows();
  rows.resize(3);
  CHECK(TreeDot(rows) ==
        "digraph arbor {\n"
        "  node [shape=box, style=rounded];\n"
        "  \"50\" [label=\"50\\nup pid=100 restarts=0\", color=forestgreen];\n"
        "  \"30\" [label=\"30\\nup pid=101 restarts=0\", color=forestgreen];\n"
        "  \"20\" [label=\"20\\ndown pid=102 restarts=1\", color=red];\n"
        "  \"50\" -> \"30\";\n"
        "  \"30\" -> \"20\";\n"
        "}");
  std::vector<TreeRow> quoted = {{1, std::nullopt, 0, "up", 7, 0, std::string("a\"b\\c")}};
  CHECK(TreeDot(quoted).find("host=a\\\"b\\\\c\"") != std::string::npos);
  CHECK(TreeDot({}) == "digraph arbor {\n  node [shape=box, style=rounded];\n}");
}

}  // namespace
}  // namespace arbor::controller
