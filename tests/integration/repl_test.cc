// The REPL as a person at a terminal sees it: the real controller in a pseudo-terminal, what it
// writes rendered on a VT100 screen model, and the visible rows compared exactly.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "controller_process.h"
#include "terminal_screen.h"

namespace arbor::testing {
namespace {

namespace fs = std::filesystem;
using Rows = std::vector<std::string>;

const std::string kBanner = "arbor: type 'help' for commands, 'exit' or Ctrl-D to leave";
constexpr auto kSettle = std::chrono::milliseconds(150);
// Keys, as a terminal sends them.
const std::string kCtrlB = "\x02";  // the cursor one to the left
const std::string kCtrlU = "\x15";  // clear the line
const std::string kBackspace = "\x7f";
const std::string kUp = "\x1b[A";

#define SKIP_WITHOUT_PTY()                                                           \
  if (!ControllerProcess::PtyAvailable()) {                                          \
    WARN("no pseudo-terminal here (a chroot without /dev/pts?): REPL test skipped"); \
    return;                                                                          \
  }

// "<pid>" in an expected row stands for a number.
bool RowMatches(const std::string& row, const std::string& expected) {
  std::size_t at = expected.find("<pid>");
  if (at == std::string::npos) return row == expected;
  std::string tail = expected.substr(at + 5);
  if (row.size() <= at + tail.size() || row.compare(0, at, expected, 0, at) != 0) return false;
  if (row.compare(row.size() - tail.size(), tail.size(), tail) != 0) return false;
  std::string digits = row.substr(at, row.size() - at - tail.size());
  return digits.find_first_not_of("0123456789") == std::string::npos;
}

bool LinesMatch(const Rows& lines, const Rows& expected) {
  if (lines.size() != expected.size()) return false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!RowMatches(lines[i], expected[i])) return false;
  }
  return true;
}

// A controller at a terminal, and its screen.
class Terminal {
 public:
  explicit Terminal(std::vector<std::string> args, std::vector<std::string> env = {})
      : controller_(std::move(args), ControllerProcess::Mode::kPty, std::move(env)) {}

  void Type(const std::string& keys) { controller_.SendRaw(keys); }

  // "" once the screen shows exactly `expected` (its rows down to the last non-blank one) and
  // goes on showing it for a moment, so that a stray line drawn late fails too. Otherwise what
  // it shows instead, or the sequences the screen model did not know.
  std::string Expect(const Rows& expected, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (!screen_.errors().empty()) return Report(expected);
      if (LinesMatch(screen_.Lines(), expected) && Settled(expected)) return "";
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Report(expected);
      screen_.Feed(controller_.ReadSome(left));
    }
  }

  const TerminalScreen& screen() const { return screen_; }
  ControllerProcess& controller() { return controller_; }

 private:
  bool Settled(const Rows& expected) {
    auto until = std::chrono::steady_clock::now() + kSettle;
    while (std::chrono::steady_clock::now() < until) {
      std::string more = controller_.ReadSome(25ms);
      if (more.empty()) continue;
      screen_.Feed(more);
      if (!LinesMatch(screen_.Lines(), expected)) return false;
    }
    return true;
  }

  std::string Report(const Rows& expected) const {
    std::string out = "expected:\n";
    for (const std::string& row : expected) out += "  |" + row + "|\n";
    out += "the screen shows:\n" + screen_.Dump();
    for (const std::string& e : screen_.errors()) out += "\n" + e;
    return out;
  }

  ControllerProcess controller_;
  TerminalScreen screen_{ControllerProcess::kPtyRows, ControllerProcess::kPtyColumns};
};

Terminal TreeOfSeven() { return Terminal({"--config", TestConfig("tree7_fast.yaml")}); }

// A directory of its own for one test, removed after it.
struct TempDir {
  TempDir() {
    char name[] = "/tmp/arbor-repl-XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

unsigned Mode(const fs::path& p) {
  struct stat st {};
  REQUIRE(stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::vector<std::string> FileLines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

TEST_CASE("repl: a command is shown once, its result below it, then a new prompt") {
  SKIP_WITHOUT_PTY();
  Terminal t = TreeOfSeven();
  REQUIRE(t.Expect({kBanner, "> "}) == "");
  t.Type("ping 40\r");
  REQUIRE(t.Expect({kBanner, "> ping 40", "Ok: 1", "> "}) == "");
  CHECK(t.screen().cursor_row() == 3);
  CHECK(t.screen().cursor_column() == 2);
  t.Type("exec 20 x 5\r");
  REQUIRE(t.Expect({kBanner, "> ping 40", "Ok: 1", "> exec 20 x 5", "Ok:20", "> "}) == "");
  t.Type("exec 20 x\r");
  REQUIRE(t.Expect({kBanner, "> ping 40", "Ok: 1", "> exec 20 x 5", "Ok:20", "> exec 20 x",
                    "Ok:20: 5", "> "}) == "");
  t.Type("exit\r");
  CHECK(t.controller().Wait(10s));
}

TEST_CASE("repl: an error goes on its own line, like any result") {
  SKIP_WITHOUT_PTY();
  Terminal t = TreeOfSeven();
  REQUIRE(t.Expect({kBanner, "> "}) == "");
  t.Type("bogus\r");
  REQUIRE(t.Expect({kBanner, "> bogus", "Error: unknown command 'bogus' (type 'help' for the list)",
                    "> "}) == "");
  t.Type("ping 17\r");
  REQUIRE(t.Expect({kBanner, "> bogus", "Error: unknown command 'bogus' (type 'help' for the list)",
                    "> ping 17", "Error: Not found", "> "}) == "");
}

TEST_CASE("repl: TAB completes a command") {
  SKIP_WITHOUT_PTY();
  Terminal t = TreeOfSeven();
  REQUIRE(t.Expect({kBanner, "> "}) == "");
  t.Type("rem\t");  // one candidate: completed, with the space after it
  REQUIRE(t.Expect({kBanner, "> remove <id>"}) == "");
  CHECK(t.screen().cursor_column() == 9);
  t.Type(kCtrlU + "pi\t");  // ping and pingall: their common part
  REQUIRE(t.Expect({kBanner, "> ping <id> [-c N [-i ms]]"}) == "");
  CHECK(t.screen().cursor_column() == 6);
  t.Type("\t");  // nothing more in common: the candidates are listed
  REQUIRE(t.Expect({kBanner, "> ping", "ping     pingall", "> ping <id> [-c N [-i ms]]"}) == "");
  CHECK(t.screen().cursor_row() == 3);
  CHECK(t.screen().cursor_column() == 6);
  t.Type("all\r");
  REQUIRE(t.Expect({kBanner, "> ping", "ping     pingall", "> pingall", "Ok: -1", "> "}) == "");
}

TEST_CASE("repl: TAB completes a node id where a command takes one") {
  SKIP_WITHOUT_PTY();
  Terminal t = TreeOfSeven();  // nodes 20 30 40 50 60 70 80
  REQUIRE(t.Expect({kBanner, "> "}) == "");
  t.Type("ping 4\t");
  REQUIRE(t.Expect({kBanner, "> ping 40 [-c N [-i ms]]"}) == "");
  CHECK(t.screen().cursor_column() == 10);
  t.Type("\r");
  REQUIRE(t.Expect({kBanner, "> ping 40 ", "Ok: 1", "> "}) == "");
  t.Type("exec \t");  // every id is a candidate
  REQUIRE(t.Expect({kBanner, "> ping 40 ", "Ok: 1", "> exec ", "20  30  40  50  60  70  80",
                    "> exec <id> <name> [value]"}) == "");
  t.Type("8\t");
  REQUIRE(t.Expect({kBanner, "> ping 40 ", "Ok: 1", "> exec ", "20  30  40  50  60  70  80",
                    "> exec 80 <name> [value]"}) == "");
  t.Type(kCtrlU + "create 45 5\t");  // create's parent is an existing node
  REQUIRE(t.Expect({kBanner, "> ping 40 ", "Ok: 1", "> exec ", "20  30  40  50  60  70  80",
                    "> create 45 50 "}) == "");
}

TEST_CASE("repl: the rest of the synopsis is hinted, dim, and never typed") {
  SKIP_WITHOUT_PTY();
  Terminal t = TreeOfSeven();
  REQUIRE(t.Expect({kBanner, "> "}) == "");
  t.Type("exec 10 ");
  REQUIRE(t.Expect({kBanner, "> exec 10 <name> [value]"}) == "");
  CHECK(t.screen().cursor_column() == 10);
  CHECK_FALSE(t.screen().Dim(1, 9));
  for (int column = 10; column < 24; ++column) CHECK(t.screen().Dim(1, column));
  t.Type("x");
  REQUIRE(t.Expect({kBanner, "> exec 10 x [value]"}) == "");
  CHECK_FALSE(t.screen().Dim(1, 10));
  CHECK(t.screen().Dim(1, 12));
  t.Type(" 5");
  REQUIRE(t.Expect({kBanner, "> exec 10 x 5"}) == "");
  t.Type(kBackspace + kBackspace + kBackspace);  // back to "exec 10 "
  REQUIRE(t.Expect({kBanner, "> exec 10 <name> [value]"}) == "");
  // Enter sends what was typed, not the hint.
  t.Type("\r");
  REQUIRE(t.Expect({kBanner, "> exec 10 ", "Error: usage: exec <id> <name> [value]", "> "}) ==
          "");
}

TEST_CASE("repl: help for one command gives its usage, summary and plugin") {
  SKIP_WITHOUT_PTY();
  Terminal t = TreeOfSeven();
  REQUIRE(t.Expect({kBanner, "> "}) == "");
  t.Type("help exec\r");
  Rows exec = {kBanner, "> help exec", "  exec <id> <name> [value]",
               "  summary: set name to a 64-bit integer on the node, or read it back",
               "  plugin: dictionary", "> "};
  REQUIRE(t.Expect(exec) == "");
  t.Type("help remove\r");
  Rows remove = exec;
  remove.pop_back();
  remove.insert(remove.end(), {"> help remove", "  remove <id>",
                               "  summary: stop node <id> and its whole subtree",
                               "  plugin: none (built into the controller)", "> "});
  REQUIRE(t.Expect(remove) == "");
  t.Type("help nosuch\r");
  Rows unknown = remove;
  unknown.pop_back();
  unknown.insert(unknown.end(), {"> help nosuch",
                                 "Error: unknown command 'nosuch' (type 'help' for the list)",
                                 "> "});
  REQUIRE(t.Expect(unknown) == "");
}

TEST_CASE("batch: help for one command prints the same lines, and an unknown one is an error") {
  ControllerProcess c({"--config", TestConfig("slow.yaml")});
  c.Send("help sleep");
  CHECK(c.NextLine() == "  sleep <id> <ms>");
  CHECK(c.NextLine() == "  summary: sleep <ms> milliseconds, then answer \"slept\"");
  CHECK(c.NextLine() == "  plugin: slow");
  c.Send("help ping");
  CHECK(c.NextLine() == "  ping <id> [-c N [-i ms]]");
  CHECK(c.NextLine() ==
        "  summary: Ok: 1 if the node answers, Ok: 0 if it exists but is unreachable; -c: N "
        "probes (1-10000) every ms (10-60000, default 1000), one line each, then the loss and "
        "round-trip statistics");
  CHECK(c.NextLine() ==
        "  plugin: none (built into the controller); nodes answer it through plugin ping");
  CHECK(c.Command("help sleep 5") == "Error: usage: help [verb]");
  CHECK(c.Command("help bogus") == "Error: unknown command 'bogus' (type 'help' for the list)");
  c.CloseInput();
  auto status = c.Wait(10s);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 1);  // an error was printed
}

TEST_CASE("repl: a result that arrives while the user types goes above the line being typed") {
  SKIP_WITHOUT_PTY();
  Terminal t({"--config", TestConfig("slow.yaml")});
  REQUIRE(t.Expect({kBanner, "> "}) == "");
  t.Type("create 10\r");
  REQUIRE(t.Expect({kBanner, "> create 10", "Ok: <pid>", "> "}) == "");
  t.Type("sleep 10 2500\r");
  t.Type("exec 10 ab" + kCtrlB);  // Ctrl-B: the cursor goes back between a and b
  Rows typing = {kBanner, "> create 10", "Ok: <pid>", "> sleep 10 2500", "> exec 10 ab [value]"};
  REQUIRE(t.Expect(typing) == "");
  CHECK(t.screen().cursor_column() == 11);
  Rows arrived = {kBanner, "> create 10", "Ok: <pid>", "> sleep 10 2500", "Ok:10: slept",
                  "> exec 10 ab [value]"};
  REQUIRE(t.Expect(arrived) == "");
  CHECK(t.screen().cursor_row() == 5);
  CHECK(t.screen().cursor_column() == 11);
  t.Type("c");  // typed where the cursor was
  arrived.back() = "> exec 10 acb [value]";
  REQUIRE(t.Expect(arrived) == "");
  t.Type("\r");
  arrived.back() = "> exec 10 acb";
  arrived.insert(arrived.end(), {"Ok:10: 'acb' not found", "> "});
  REQUIRE(t.Expect(arrived) == "");
}

TEST_CASE("repl: a line that wraps onto a second row is drawn again whole under a late result") {
  SKIP_WITHOUT_PTY();
  Terminal t({"--config", TestConfig("slow.yaml")});
  REQUIRE(t.Expect({kBanner, "> "}) == "");
  t.Type("create 10\r");
  REQUIRE(t.Expect({kBanner, "> create 10", "Ok: <pid>", "> "}) == "");
  t.Type("sleep 10 2500\r");
  // 90 columns: the line wraps, and the hint has no room (it is shown whole or not at all).
  t.Type("exec 10 " + std::string(80, 'a'));
  Rows typing = {kBanner, "> create 10", "Ok: <pid>", "> sleep 10 2500",
                 "> exec 10 " + std::string(70, 'a'), std::string(10, 'a')};
  REQUIRE(t.Expect(typing) == "");
  typing.insert(typing.begin() + 4, "Ok:10: slept");
  REQUIRE(t.Expect(typing) == "");
  CHECK(t.screen().cursor_row() == 6);
  CHECK(t.screen().cursor_column() == 10);
  t.Type(kCtrlU + "ping 10\r");
  typing.resize(5);
  typing.insert(typing.end(), {"> ping 10", "Ok: 1", "> "});
  REQUIRE(t.Expect(typing) == "");
}

TEST_CASE("repl: the history is kept under XDG_STATE_HOME, in a directory of the user's own") {
  SKIP_WITHOUT_PTY();
  TempDir dir;
  std::vector<std::string> env = {"HOME=" + (dir.path / "home").string(),
                                  "XDG_STATE_HOME=" + (dir.path / "state").string()};
  {
    Terminal t({"--config", TestConfig("tree7_fast.yaml")}, env);
    REQUIRE(t.Expect({kBanner, "> "}) == "");
    t.Type("ping 40\r");
    REQUIRE(t.Expect({kBanner, "> ping 40", "Ok: 1", "> "}) == "");
    t.Type("exit\r");
    REQUIRE(t.controller().Wait(10s));
  }
  fs::path file = dir.path / "state" / "arbor" / "history";
  REQUIRE(fs::exists(file));
  CHECK(Mode(dir.path / "state") == 0700);
  CHECK(Mode(dir.path / "state" / "arbor") == 0700);
  CHECK(Mode(file) == 0600);
  CHECK_FALSE(fs::exists(dir.path / "home"));

  // The next session recalls it with the up arrow.
  Terminal t({"--config", TestConfig("tree7_fast.yaml")}, env);
  REQUIRE(t.Expect({kBanner, "> "}) == "");
  t.Type(kUp);
  REQUIRE(t.Expect({kBanner, "> ping 40 [-c N [-i ms]]"}) == "");
}

TEST_CASE("repl: without XDG_STATE_HOME the history is kept under HOME") {
  SKIP_WITHOUT_PTY();
  TempDir dir;
  for (std::string xdg : {"XDG_STATE_HOME", "XDG_STATE_HOME=relative/state"}) {
    INFO(xdg);
    Terminal t({"--config", TestConfig("tree7_fast.yaml")},
               {"HOME=" + dir.path.string(), xdg});
    REQUIRE(t.Expect({kBanner, "> "}) == "");
    t.Type("ping 30\r");
    REQUIRE(t.Expect({kBanner, "> ping 30", "Ok: 1", "> "}) == "");
    t.Type("exit\r");
    REQUIRE(t.controller().Wait(10s));
    CHECK(fs::exists(dir.path / ".local" / "state" / "arbor" / "history"));
    CHECK(Mode(dir.path / ".local" / "state" / "arbor") == 0700);
    CHECK_FALSE(fs::exists("relative"));
  }
}

TEST_CASE("repl: the history keeps the last 1000 commands") {
  SKIP_WITHOUT_PTY();
  TempDir dir;
  fs::path file = dir.path / "arbor" / "history";
  fs::create_directories(file.parent_path());
  {
    std::ofstream out(file);
    out << "_HiStOrY_V2_\n";
    for (int i = 1; i <= 1200; ++i) out << "bogus" << i << "\n";
  }
  Terminal t({"--config", TestConfig("tree7_fast.yaml")},
             {"HOME=" + dir.path.string(), "XDG_STATE_HOME=" + dir.path.string()});
  REQUIRE(t.Expect({kBanner, "> "}) == "");
  t.Type("ping 40\r");
  REQUIRE(t.Expect({kBanner, "> ping 40", "Ok: 1", "> "}) == "");
  t.Type("ping 40\r");  // the same again is not a second entry
  REQUIRE(t.Expect({kBanner, "> ping 40", "Ok: 1", "> ping 40", "Ok: 1", "> "}) == "");
  std::vector<std::string> lines = FileLines(file);
  REQUIRE(lines.size() == 1 + 1000);
  CHECK(lines[0] == "_HiStOrY_V2_");
  CHECK(lines[1] == "bogus202");
  CHECK(lines[999] == "bogus1200");
  CHECK(lines[1000] == "ping\\04040");  // libedit's file format escapes the space
}

}  // namespace
}  // namespace arbor::testing
