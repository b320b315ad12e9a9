// The controller's output for scripts and terminals: --json, ping series, tree pictures and
// Graphviz, the deploy progress bar. Plain mode keeps the SPEC lines (session_test.cc).
#include <signal.h>

#include <sys/wait.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "processes.h"
#include "terminal_screen.h"
#include "tree_helpers.h"

using namespace arbor::testing;

namespace {

// One JSON value of a flat object: its kind, and its text (a string's decoded text).
struct JsonValue {
  enum Kind { kString, kNumber, kBool } kind;
  std::string text;
};
using JsonObject = std::vector<std::pair<std::string, JsonValue>>;

// A strict parser for the flat objects --json prints: strings (with every JSON escape; \u
// only below U+0080 or U+FFFD, all the controller emits), numbers, true/false. Anything else,
// trailing bytes included, fails the test.
class FlatJson {
 public:
  explicit FlatJson(std::string s) : s_(std::move(s)) {}
  JsonObject Parse() {
    JsonObject o;
    Expect('{');
    while (true) {
      std::string key = String();
      Expect(':');
      o.emplace_back(key, Value());
      if (Peek() == ',') {
        ++i_;
        continue;
      }
      Expect('}');
      break;
    }
    REQUIRE(i_ == s_.size());
    return o;
  }

 private:
  char Peek() {
    REQUIRE(i_ < s_.size());
    return s_[i_];
  }
  void Expect(char c) {
    INFO("at byte " << i_ << " of " << s_);
    REQUIRE(Peek() == c);
    ++i_;
  }
  std::string String() {
    Expect('"');
    std::string out;
    for (char c; (c = Peek()) != '"'; ++i_) {
      REQUIRE(static_cast<unsigned char>(c) >= 0x20);
      if (c != '\\') {
        out += c;
        continue;
      }
      ++i_;
      char e = Peek();
      static const std::string simple = "\"\\/bfnrt", decoded = "\"\\/\b\f\n\r\t";
      if (auto k = simple.find(e); k != std::string::npos) {
        out += decoded[k];
        continue;
      }
      REQUIRE(e == 'u');
      REQUIRE(i_ + 4 < s_.size());
      unsigned code = std::stoul(s_.substr(i_ + 1, 4), nullptr, 16);
      i_ += 4;
      if (code == 0xFFFD) {
        out += "\xEF\xBF\xBD";
      } else {
        REQUIRE(code < 0x80);
        out += static_cast<char>(code);
      }
    }
    ++i_;
    return out;
  }
  JsonValue Value() {
    if (Peek() == '"') return {JsonValue::kString, String()};
    for (const char* word : {"true", "false"}) {
      if (s_.compare(i_, std::strlen(word), word) == 0) {
        i_ += std::strlen(word);
        return {JsonValue::kBool, word};
      }
    }
    std::size_t start = i_;
    static const std::regex number("-?(0|[1-9][0-9]*)(\\.[0-9]+)?");
    while (i_ < s_.size() && std::strchr("-0123456789.", s_[i_])) ++i_;
    std::string n = s_.substr(start, i_ - start);
    INFO("number '" << n << "' in " << s_);
    REQUIRE(std::regex_match(n, number));
    return {JsonValue::kNumber, n};
  }

  std::string s_;
  std::size_t i_ = 0;
};

// Checks one --json line: the fields, in order, with these values; `id` absent when empty;
// `answer` is the result (ok) or the error (not ok), matched as a regex.
void CheckJson(const std::string& line, const std::string& command, bool ok,
               const std::string& id, const std::string& answer) {
  INFO("line: " << line);
  JsonObject o = FlatJson(line).Parse();
  std::size_t k = 0;
  auto field = [&](const std::string& name, JsonValue::Kind kind) -> const std::string& {
    REQUIRE(k < o.size());
    CHECK(o[k].first == name);
    CHECK(o[k].second.kind == kind);
    return o[k++].second.text;
  };
  CHECK(field("command", JsonValue::kString) == command);
  CHECK(field("ok", JsonValue::kBool) == (ok ? "true" : "false"));
  if (!id.empty()) CHECK(field("id", JsonValue::kNumber) == id);
  const std::string& text = field(ok ? "result" : "error", JsonValue::kString);
  CHECK(std::regex_match(text, std::regex(answer)));
  CHECK(std::stod(field("time_ms", JsonValue::kNumber)) >= 0);
  CHECK(k == o.size());
}

}  // namespace

TEST_CASE("json: one object per command, in input order, with the structured answer") {
  ControllerProcess c({"--json", "--config", TestConfig("fast.yaml")});
  std::string script =
      "create 10\n"
      "create 5 10\n"
      "  exec 10 MyVar 5  \n"
      "exec 10 MyVar\n"
      "exec 10 Other\n"
      "exec 12 MyVar\n"
      "ping 5\n"
      "ping 17\n"
      "pingall\n"
      "frobnicate 3\n"
      "create x\n"
      "exec 10 a\x01" "b\n"
      "exec 10 \"q\\\xff\n"
      "remove 5\n"
      "tree\n"
      "ping 10 -c 2 -i 10\n"
      "info 10";
  c.Send(script);
  CheckJson(c.NextLine(), "create 10", true, "10", "[0-9]+");
  CheckJson(c.NextLine(), "create 5 10", true, "5", "[0-9]+");
  CheckJson(c.NextLine(), "exec 10 MyVar 5", true, "10", "");
  CheckJson(c.NextLine(), "exec 10 MyVar", true, "10", "5");
  CheckJson(c.NextLine(), "exec 10 Other", true, "10", "'Other' not found");
  CheckJson(c.NextLine(), "exec 12 MyVar", false, "12", "Not found");
  CheckJson(c.NextLine(), "ping 5", true, "5", "1");
  CheckJson(c.NextLine(), "ping 17", false, "17", "Not found");
  CheckJson(c.NextLine(), "pingall", true, "", "-1");
  CheckJson(c.NextLine(), "frobnicate 3", false, "", "unknown command 'frobnicate'.*");
  CheckJson(c.NextLine(), "create x", false, "", "invalid node id 'x'.*");
  // A control character and a byte that is not UTF-8 still make a valid JSON line.
  CheckJson(c.NextLine(), "exec 10 a\x01" "b", false, "10",
            "invalid name 'a\x01" "b': names are letters and digits only");
  CheckJson(c.NextLine(), "exec 10 \"q\\\xEF\xBF\xBD", false, "10",
            "invalid name '\"q\\\\\xEF\xBF\xBD': names are letters and digits only");
  CheckJson(c.NextLine(), "remove 5", true, "5", "");
  CheckJson(c.NextLine(), "tree", true, "", "10 up pid=[0-9]+ restarts=0");
  CheckJson(c.NextLine(), "ping 10 -c 2 -i 10", true, "10",
            "reply from node 10: seq=1 time=.*\n"
            "reply from node 10: seq=2 time=.*\n"
            "--- node 10 ping statistics ---\n"
            "2 packets transmitted, 2 received, 0% packet loss, time [0-9]+ms\n"
            "rtt min/avg/max/mdev = .* ms");
  CheckJson(c.NextLine(), "info 10", true, "10", "pid=[0-9]+ left=- right=- plugins=.*");
  c.CloseInput();
  CHECK(c.NextLine(5s) == "<no line>");
  auto st = c.Wait();
  REQUIRE(st);
  CHECK(WEXITSTATUS(*st) == 1);  // some commands failed, as in plain mode
}

TEST_CASE("ping -c: every probe of a live node answers, with iputils' summary") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});
  CreateAll(c, {40, 20});
  c.Send("ping 20 -c 3 -i 20");
  c.Send("exec 40 after 1");  // the series holds only node 20's queue; output stays in order
  const std::string ms = "[0-9]+(\\.[0-9]+)?";
  for (int seq = 1; seq <= 3; ++seq) {
    std::string line = c.NextLine();
    INFO(line);
    CHECK(std::regex_match(line, std::regex("reply from node 20: seq=" + std::to_string(seq) +
                                            " time=" + ms + " ms")));
  }
  CHECK(c.NextLine() == "--- node 20 ping statistics ---");
  std::string summary = c.NextLine();
  std::smatch m;
  REQUIRE(std::regex_match(summary, m, std::regex("3 packets transmitted, 3 received, "
                                                  "0% packet loss, time ([0-9]+)ms")));
  CHECK(std::stoi(m[1]) >= 40);  // two intervals of 20 ms at least
  std::string rtt = c.NextLine();
  INFO(rtt);
  CHECK(std::regex_match(rtt, std::regex("rtt min/avg/max/mdev = ([0-9]+\\.[0-9]{3}/){3}"
                                         "[0-9]+\\.[0-9]{3} ms")));
  CHECK(c.NextLine() == "Ok:40");
  CHECK(c.Command("ping 20") == "Ok: 1");  // the SPEC ping is unchanged
  CHECK(c.Command("ping 21 -c 2") == "Error: Not found");
  CHECK(c.Command("ping 20 -c 0") == "Error: invalid count '0': -c takes 1 to 10000 probes");
  CHECK(c.Command("ping 20 -c 2 -i 5") == "Error: invalid interval '5': -i takes 10 to 60000 ms");
}

TEST_CASE("ping -c: a killed node loses every probe, and there is no rtt line") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});
  std::map<long, pid_t> pids = CreateAll(c, {40, 20});
  REQUIRE(kill(pids[20], SIGKILL) == 0);
  REQUIRE(WaitFor([&] { return !Alive(pids[20]); }, 5s));
  c.Send("ping 20 -c 2 -i 10");
  c.Send("ping 40");
  for (int seq = 1; seq <= 2; ++seq) {
    std::string line = c.NextLine();
    INFO(line);
    CHECK(std::regex_match(line, std::regex("no reply from node 20: seq=" + std::to_string(seq) +
                                            " \\(.+\\)")));
  }
  CHECK(c.NextLine() == "--- node 20 ping statistics ---");
  std::string summary = c.NextLine();
  INFO(summary);
  CHECK(std::regex_match(summary, std::regex("2 packets transmitted, 0 received, "
                                             "100% packet loss, time [0-9]+ms")));
  CHECK(c.NextLine() == "Ok: 1");  // no rtt line before the next command's answer
}

TEST_CASE("repl: Ctrl-C ends a ping series with its statistics, and exit does not wait") {
  if (!ControllerProcess::PtyAvailable()) {
    WARN("no pseudo-terminal here (a chroot without /dev/pts?): REPL test skipped");
    return;
  }
  ControllerProcess c({"--config", TestConfig("fast.yaml")}, ControllerProcess::Mode::kPty);
  REQUIRE(c.ReadUntil("> ", 10s));
  c.Send("create 10");
  REQUIRE(c.ReadUntil("Ok: ", 10s));
  c.Send("ping 10 -c 1000 -i 50");  // 50 s if left alone
  // The line editor echoes key by key, with hints drawn and erased between keys: wait for the
  // entered line as the terminal shows it, not for its bytes in a row.
  TerminalScreen screen(ControllerProcess::kPtyRows, ControllerProcess::kPtyColumns);
  bool entered = WaitFor(
      [&] {
        screen.Feed(c.ReadSome(50ms));
        std::vector<std::string> rows = screen.Rows();
        for (int r = 0; r < int(rows.size()); ++r) {
          // Entered: the cursor has left the line.
          if (rows[std::size_t(r)] == "> ping 10 -c 1000 -i 50") return screen.cursor_row() > r;
        }
        return false;
      },
      10s);
  REQUIRE(entered);
  std::this_thread::sleep_for(200ms);  // a few probes go out
  c.Kill(SIGINT);
  auto stats = c.ReadUntil(" received", 5s);
  REQUIRE(stats);
  CHECK(stats->find("reply from node 10: seq=1 time=") != std::string::npos);
  CHECK(stats->find("1000 packets transmitted") == std::string::npos);
  CHECK(stats->find("--- node 10 ping statistics ---") != std::string::npos);
  c.Send("ping 10 -c 1000 -i 50");
  c.Send("exit");
  auto st = c.Wait(5s);
  REQUIRE(st);
  CHECK(WIFEXITED(*st));
}

TEST_CASE("tree --dot: a Graphviz digraph of the tree, and tree keeps the SPEC text in a pipe") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});
  CreateAll(c, {10, 5, 15});
  c.Send("tree --dot");
  c.Send("tree");
  c.Send("ping 10");
  std::vector<std::string> lines;
  for (int i = 0; i < 12; ++i) {
    // The pids vary; everything else is exact.
    lines.push_back(std::regex_replace(c.NextLine(), std::regex("pid=[0-9]+"), "pid=P"));
  }
  std::vector<std::string> expected = {
      "digraph arbor {",
      "  node [shape=box, style=rounded];",
      "  \"10\" [label=\"10\\nup pid=P restarts=0\", color=forestgreen];",
      "  \"5\" [label=\"5\\nup pid=P restarts=0\", color=forestgreen];",
      "  \"15\" [label=\"15\\nup pid=P restarts=0\", color=forestgreen];",
      "  \"10\" -> \"5\";",
      "  \"10\" -> \"15\";",
      "}",
      "10 up pid=P restarts=0",
      "  5 up pid=P restarts=0",
      "  15 up pid=P restarts=0",
      "Ok: 1"};
  CHECK(lines == expected);
}

TEST_CASE("tree on a terminal: drawn with box characters, states in colour") {
  if (!ControllerProcess::PtyAvailable()) {
    WARN("no pseudo-terminal here (a chroot without /dev/pts?): REPL test skipped");
    return;
  }
  unsetenv("NO_COLOR");  // the controller inherits our environment
  ControllerProcess c({"--config", TestConfig("fast.yaml")}, ControllerProcess::Mode::kPty);
  REQUIRE(c.ReadUntil("> ", 10s));
  for (const char* id : {"10", "5", "15", "12"}) {
    c.Send(std::string("create ") + id);
    REQUIRE(c.ReadUntil("Ok: ", 10s));
  }
  c.Send("tree");
  auto drawn = c.ReadUntil("12 \x1b[32mup\x1b[0m pid=", 10s);
  REQUIRE(drawn);
  CHECK(drawn->find("10 \x1b[32mup\x1b[0m pid=") != std::string::npos);
  CHECK(drawn->find("├── 5 \x1b[32mup") != std::string::npos);
  CHECK(drawn->find("└── 15 \x1b[32mup") != std::string::npos);
  CHECK(drawn->find("    └── 12 ") != std::string::npos);
  c.Send("exit");
  CHECK(c.Wait(10s));

  SECTION("NO_COLOR: the same drawing without colour") {
    setenv("NO_COLOR", "1", 1);
    ControllerProcess plain({"--config", TestConfig("fast.yaml")}, ControllerProcess::Mode::kPty);
    unsetenv("NO_COLOR");
    REQUIRE(plain.ReadUntil("> ", 10s));
    plain.Send("create 10");
    REQUIRE(plain.ReadUntil("Ok: ", 10s));
    plain.Send("create 5");
    REQUIRE(plain.ReadUntil("Ok: ", 10s));
    plain.Send("tree");
    auto text = plain.ReadUntil("└── 5 up pid=", 10s);
    REQUIRE(text);
    CHECK(text->find("\x1b[32m") == std::string::npos);
    plain.Send("exit");
    CHECK(plain.Wait(10s));
  }
}

namespace {

// A config of `n` nodes with fast.yaml's settings, in a temporary file.
std::string ManyNodesConfig(int n) {
  std::string path = "/tmp/arbor-output-test-" + std::to_string(getpid()) + ".yaml";
  std::ofstream out(path);
  out << "timeouts:\n  request_ms: 500\n  orphan_grace_ms: 1000\n"
      << "plugins:\n  load: [dictionary, ping]\nnodes:\n";
  for (int i = 0; i < n; ++i) out << "  - " << (i * 37) % 101 << "\n";
  return path;
}

}  // namespace

TEST_CASE("deploy progress: a bar on a terminal, erased before the prompt") {
  if (!ControllerProcess::PtyAvailable()) {
    WARN("no pseudo-terminal here (a chroot without /dev/pts?): REPL test skipped");
    return;
  }
  std::string config = ManyNodesConfig(30);
  ControllerProcess c({"--config", config}, ControllerProcess::Mode::kPtyWithStderr);
  auto bar = c.ReadUntil(" nodes", 20s);
  REQUIRE(bar);
  std::regex drawn("\x1b\\[Kdeploying \\[(#|\u00b7){20}\\] [0-9]+/30 nodes");
  CHECK(std::regex_search(*bar, drawn));
  auto rest = c.ReadUntil("> ", 20s);
  unlink(config.c_str());
  REQUIRE(rest);
  // The last bar is erased (\r, clear to end of line) before the REPL's greeting.
  CHECK(rest->find("\r\x1b[Karbor: type 'help'") != std::string::npos);
  c.Send("exec 74 x 1");  // 2*37 % 101: one of the 30
  CHECK(c.ReadUntil("Ok:74", 10s));
  c.Send("exit");
  CHECK(c.Wait(10s));
}

TEST_CASE("deploy progress: no bar in batch mode, nor into a file, nor with --quiet") {
  std::string config = ManyNodesConfig(30);
  SECTION("batch mode") {
    ControllerProcess c({"--config", config});
    CHECK(c.Command("exec 74 x 1") == "Ok:74");
    CHECK(c.Stderr().find("deploying") == std::string::npos);
  }
  SECTION("REPL with stderr into a file") {
    if (!ControllerProcess::PtyAvailable()) {
      WARN("no pseudo-terminal here: the REPL case not tested");
      return;
    }
    ControllerProcess c({"--config", config}, ControllerProcess::Mode::kPty);
    REQUIRE(c.ReadUntil("> ", 20s));
    c.Send("exec 74 x 1");
    REQUIRE(c.ReadUntil("Ok:74", 10s));
    CHECK(c.Stderr().find("deploying") == std::string::npos);
    c.Send("exit");
    CHECK(c.Wait(10s));
  }
  SECTION("--quiet at a terminal") {
    if (!ControllerProcess::PtyAvailable()) {
      WARN("no pseudo-terminal here: --quiet at a terminal not tested");
      return;
    }
    ControllerProcess c({"--quiet", "--config", config}, ControllerProcess::Mode::kPtyWithStderr);
    auto all = c.ReadUntil("> ", 20s);
    REQUIRE(all);
    CHECK(all->find("deploying") == std::string::npos);
    c.Send("exit");
    CHECK(c.Wait(10s));
  }
  unlink(config.c_str());
}
