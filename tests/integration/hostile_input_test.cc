// Hostile input to the real controller (issue 10): a config file or a command that would hang
// it, exhaust its memory, start a wrong tree without a word, or write control bytes to the
// terminal. Each gets one clear, escaped error line, and a bad config exits 2.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "processes.h"
#include "tree_helpers.h"

using namespace arbor::testing;

namespace {

// A config file under /tmp, removed when the test ends.
class TempConfig {
 public:
  TempConfig(const std::string& name, const std::string& text)
      : path_("/tmp/arbor-hostile-" + std::to_string(getpid()) + "-" + name) {
    std::ofstream out(path_, std::ios::binary);
    out << text;
  }
  ~TempConfig() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Refusal {
  int exit_code = -1;
  std::string stderr_text;
};

// Runs the controller on `path`, which it must refuse: it exits within a few seconds.
Refusal Refused(const std::string& path) {
  ControllerProcess c({"--config", path});
  std::optional<int> st = c.Wait(10s);
  Refusal r;
  r.stderr_text = c.Stderr();
  if (st && WIFEXITED(*st)) r.exit_code = WEXITSTATUS(*st);
  return r;
}

bool Printable(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](char ch) {
    return ch != '\n' && (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F);
  });
}

}  // namespace

TEST_CASE("hostile config: an unclosed quote no longer starts an empty tree with exit 0") {
  TempConfig f("quote.yaml", "transport:\n  endpoint: \"ipc:///tmp/x-{id}\nnodes: [1]\n");
  Refusal r = Refused(f.path());
  CHECK(r.exit_code == 2);
  CHECK(r.stderr_text ==
        "arbor: " + f.path() +
            ":2:13: the value quoted with \" here is never "
            "closed: add the closing \" (the rest of the file was read as part of it)\n");
}

TEST_CASE("hostile config: a second YAML document is refused") {
  TempConfig f("two.yaml", "nodes: [1]\n---\nnodes: [2]\n");
  Refusal r = Refused(f.path());
  CHECK(r.exit_code == 2);
  CHECK(r.stderr_text.find(f.path() + ":2:1: a second YAML document") != std::string::npos);
}

TEST_CASE("hostile config: /dev/zero and a FIFO are refused at once") {
  Refusal zero = Refused("/dev/zero");
  CHECK(zero.exit_code == 2);
  CHECK(zero.stderr_text == "arbor: /dev/zero: not a regular file; a config must be one\n");

  std::string fifo = "/tmp/arbor-hostile-" + std::to_string(getpid()) + "-fifo";
  std::remove(fifo.c_str());
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  Refusal r = Refused(fifo);  // bounded: Wait(10s) inside
  std::remove(fifo.c_str());
  CHECK(r.exit_code == 2);
  CHECK(r.stderr_text.find("not a regular file") != std::string::npos);
}

TEST_CASE("hostile config: a file over 1 MiB is refused before it is read") {
  std::string list = "nodes: [";
  for (int i = 0; i < 200000; ++i) list += std::to_string(i) + ",";
  list += "0]\n";
  TempConfig f("big.yaml", list);
  Refusal r = Refused(f.path());
  CHECK(r.exit_code == 2);
  CHECK(r.stderr_text.find("a config may be at most 1048576 bytes (1 MiB)") != std::string::npos);
}

TEST_CASE("hostile config: deep nesting and tabs and complex keys get messages that say why") {
  TempConfig deep("deep.yaml", "nodes: " + std::string(100000, '['));
  Refusal d = Refused(deep.path());
  CHECK(d.exit_code == 2);
  CHECK(d.stderr_text.find("nesting deeper than 32 levels") != std::string::npos);

  TempConfig tab("tab.yaml", "timeouts:\n\trequest_ms: 100\n");
  Refusal t = Refused(tab.path());
  CHECK(t.exit_code == 2);
  CHECK(t.stderr_text.find(tab.path() + ":2:1: tabs are not allowed for indentation") !=
        std::string::npos);

  TempConfig key("key.yaml", "[a, b]: 1\n");
  Refusal k = Refused(key.path());
  CHECK(k.exit_code == 2);
  CHECK(k.stderr_text.find("keys must be plain strings") != std::string::npos);
}

TEST_CASE("hostile config: ESC and a newline in a value give one escaped error line") {
  TempConfig f("esc.yaml", "transport:\n  endpoint: \"ipc:///tmp/\\e]0;owned\\a\\nx-{id}\"\n");
  Refusal r = Refused(f.path());
  CHECK(r.exit_code == 2);
  CHECK(r.stderr_text ==
        "arbor: " + f.path() +
            ":2:13: 'endpoint' must not contain control "
            "characters (newline, tab, ESC...): 'ipc:///tmp/\\x1b]0;owned\\x07\\nx-{id}'\n");
  CHECK(Printable(r.stderr_text));
}

TEST_CASE("hostile config: more nodes than max_nodes are refused at load") {
  std::string list = "nodes: [";
  for (int i = 0; i < 1000; ++i) list += std::to_string(i) + ",";
  list += "1000]\n";
  TempConfig f("many.yaml", list);
  Refusal r = Refused(f.path());
  CHECK(r.exit_code == 2);
  CHECK(r.stderr_text.find("'nodes' lists 1001 nodes, more than max_nodes (1000)") !=
        std::string::npos);
}

TEST_CASE("create beyond max_nodes is refused and the tree keeps working") {
  ControllerProcess c({"--config", TestConfig("max_nodes.yaml")});
  CHECK(c.Command("create 15").rfind("Ok: ", 0) == 0);
  CHECK(c.Command("create 20") ==
        "Error: the tree already has max_nodes (3) nodes; remove some, or raise max_nodes in "
        "the config");
  CHECK(c.Command("ping 20") == "Error: Not found");
  CHECK(c.Command("exec 15 a 1") == "Ok:15");
  CHECK(c.Command("remove 15") == "Ok");
  CHECK(c.Command("create 20").rfind("Ok: ", 0) == 0);
  CHECK(c.Command("pingall") == "Ok: -1");
}

TEST_CASE("a command with ESC gives one line with the escape visible") {
  ControllerProcess c;
  CHECK(c.Command("create 10").rfind("Ok: ", 0) == 0);
  c.Send(
      "exec 10 a\x1b"
      "b 5");
  CHECK(c.NextLine() ==
        "Error:10: invalid name 'a\\x1b"
        "b': names are letters and digits only");
  // Nothing else came: the next command's answer is the next line.
  CHECK(c.Command("exec 10 a") == "Ok:10: 'a' not found");
}
