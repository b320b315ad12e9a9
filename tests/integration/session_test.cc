// The example session of SPEC.md, verbatim, on real processes.
#include <signal.h>

#include <sys/wait.h>

#include <regex>

#include "processes.h"
#include "tree_helpers.h"

using namespace arbor::testing;

TEST_CASE("the SPEC example session prints exactly the SPEC lines") {
  ControllerProcess c;
  std::string create10 = c.Command("create 10");
  std::string create5 = c.Command("create 5");
  CHECK(std::regex_match(create10, std::regex("Ok: [0-9]+")));
  CHECK(std::regex_match(create5, std::regex("Ok: [0-9]+")));
  CHECK(PidOf(create10) != PidOf(create5));
  CHECK(c.Command("exec 10 MyVar") == "Ok:10: 'MyVar' not found");
  CHECK(c.Command("exec 10 MyVar 5") == "Ok:10");
  CHECK(c.Command("exec 12 MyVar") == "Error:12: Not found");
  CHECK(c.Command("exec 10 MyVar") == "Ok:10: 5");
  CHECK(c.Command("ping 5") == "Ok: 1");
  CHECK(c.Command("ping 17") == "Error: Not found");

  SECTION("after kill -9 of node 5") {
    pid_t five = PidOf(create5);
    REQUIRE(kill(five, SIGKILL) == 0);
    REQUIRE(WaitFor([&] { return !Alive(five); }, 5s));
    CHECK(c.Command("ping 5") == "Ok: 0");
    CHECK(c.Command("exec 5 x") == "Error:5: Node is unavailable");
    CHECK(c.Command("pingall") == "Ok: 5");
    CHECK(c.Command("exec 10 MyVar") == "Ok:10: 5");
    CHECK(c.Command("ping 10") == "Ok: 1");
  }
}

TEST_CASE("the dictionary lives in the node process, not in the controller") {
  ControllerProcess c;
  CreateAll(c, {10, 5});
  CHECK(c.Command("exec 5 k 42") == "Ok:5");
  // Same key on another node is a different dictionary.
  CHECK(c.Command("exec 10 k") == "Ok:10: 'k' not found");
  // Replace node 5's process: the value goes with it, although the controller never restarted.
  CHECK(c.Command("remove 5") == "Ok");
  PidOf(c.Command("create 5"));
  CHECK(c.Command("exec 5 k") == "Ok:5: 'k' not found");
}

TEST_CASE("batch mode pipelines and keeps per-node order and input order") {
  ControllerProcess c;
  CreateAll(c, {50, 30, 70, 20, 40});
  // Interleave many writes and reads to several nodes without waiting for answers.
  std::vector<std::string> expected;
  std::map<int, long> last;
  const int ids[] = {50, 30, 70, 20, 40};
  std::string script;
  for (int i = 0; i < 2000; ++i) {
    int id = ids[i % 5];
    if (i % 3 == 2) {
      script += "exec " + std::to_string(id) + " v\n";
      auto it = last.find(id);
      expected.push_back("Ok:" + std::to_string(id) + ": " +
                         (it == last.end() ? "'v' not found" : std::to_string(it->second)));
    } else {
      last[id] = i;
      script += "exec " + std::to_string(id) + " v " + std::to_string(i) + "\n";
      expected.push_back("Ok:" + std::to_string(id));
    }
  }
  c.Send(script.substr(0, script.size() - 1));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    auto line = c.ReadLine(20s);
    REQUIRE(line);
    REQUIRE(*line == expected[i]);
  }
}

int ExitCodeOf(std::vector<std::string> args, const std::string& script,
               std::vector<std::string>* lines) {
  ControllerProcess c(std::move(args));
  c.Send(script);
  c.CloseInput();
  while (auto l = c.ReadLine()) lines->push_back(*l);
  auto st = c.Wait();
  REQUIRE(st);
  REQUIRE(WIFEXITED(*st));
  return WEXITSTATUS(*st);
}

TEST_CASE("batch mode exit status reflects errors unless --keep-going") {
  std::vector<std::string> lines;
  SECTION("every command succeeds: 0") {
    CHECK(ExitCodeOf({}, "create 1\nexec 1 a 1\nexec 1 a", &lines) == 0);
    CHECK(lines.size() == 3);
    CHECK(lines.back() == "Ok:1: 1");
  }
  SECTION("one command fails: 1, and the rest still ran") {
    CHECK(ExitCodeOf({}, "create 1\nexec 2 a\nexec 1 a 7\nexec 1 a", &lines) == 1);
    REQUIRE(lines.size() == 4);
    CHECK(lines[1] == "Error:2: Not found");
    CHECK(lines[3] == "Ok:1: 7");
  }
  SECTION("--keep-going: 0 despite the failure") {
    CHECK(ExitCodeOf({"--keep-going"}, "create 1\nexec 2 a", &lines) == 0);
    CHECK(lines.back() == "Error:2: Not found");
  }
  SECTION("exit stops reading; later lines are not run") {
    CHECK(ExitCodeOf({}, "create 1\nexit\nexec 1 a 1", &lines) == 0);
    CHECK(lines.size() == 1);
  }
}

TEST_CASE("an answer is printed while stdin stays open") {
  ControllerProcess c;
  c.Send("create 3");  // no EOF follows: the line must still arrive
  CHECK(c.ReadLine(10s).value_or("").rfind("Ok: ", 0) == 0);
  CHECK(c.Command("ping 3") == "Ok: 1");
}
