// ExitWatchdog, in a real process that would never end by itself (exit_watchdog_helper.cc):
// the process is gone once its bound passes, also from inside an exit handler; a new phase's
// bound replaces the old one; the lifeline's EOF and SIGTERM end it at once; and what it started
// goes with it when asked. Issue 16: nodes stuck in nng_close outlived their controller.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "processes.h"

extern char** environ;

using namespace arbor::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// Slack for a loaded 2-core machine: a wake-up there can be late by hundreds of ms.
constexpr auto kSlack = 1000ms;

// The helper, with its stdin (the lifeline), stdout and stderr on pipes of ours.
class Helper {
 public:
  Helper(const std::string& mode, std::chrono::milliseconds bound) {
    int in[2], out[2], err[2];
    REQUIRE(pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    std::string path = EXIT_WATCHDOG_HELPER, ms = std::to_string(bound.count());
    char* argv[] = {path.data(), const_cast<char*>(mode.c_str()), ms.data(), nullptr};
    int rc = SpawnUnblocked(&pid_, argv, &fa, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    lifeline_ = in[1];
    out_ = out[0];
    err_ = err[0];
    REQUIRE(rc == 0);
  }
  ~Helper() {
    if (!status_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : {lifeline_, out_, err_}) {
      if (fd >= 0) close(fd);
    }
  }

  // The next line it printed, or "" after `timeout`.
  std::string Line(std::chrono::milliseconds timeout = 10s) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      if (auto nl = out_text_.find('\n'); nl != std::string::npos) {
        std::string line = out_text_.substr(0, nl);
        out_text_.erase(0, nl + 1);
        return line;
      }
      if (!Read(out_, out_text_, deadline)) return "";
    }
  }
  // Its exit status, once it has exited within `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    bool exited = WaitFor(
        [&] {
          int status = 0;
          if (waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
          return status_.has_value();
        },
        timeout);
    return exited ? status_ : std::nullopt;
  }
  // What it wrote to stderr, once it has exited.
  std::string Stderr() {
    std::string text;
    while (Read(err_, text, Clock::now() + 1s)) {
    }
    return text;
  }
  void CloseLifeline() {
    close(lifeline_);
    lifeline_ = -1;
  }
  pid_t pid() const { return pid_; }

 private:
  static bool Read(int fd, std::string& into, Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    into.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int lifeline_ = -1, out_ = -1, err_ = -1;
  std::string out_text_;
  std::optional<int> status_;
};

bool ExitedWith(std::optional<int> status, int code) {
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == code;
}

}  // namespace

TEST_CASE("exit watchdog: a process blocked forever ends when its bound passes, not before") {
  for (std::string mode : {"block", "at-exit"}) {
    INFO(mode);
    Helper h(mode, 300ms);
    REQUIRE(h.Line() == "armed");
    auto t0 = Clock::now();
    CHECK(!h.Wait(200ms).has_value());
    std::optional<int> status = h.Wait(300ms + kSlack);
    REQUIRE(status.has_value());
    CHECK(Clock::now() - t0 >= 300ms);
    CHECK(ExitedWith(status, 3));  // Options::exit_code, after on_expiry ran
    CHECK(h.Line(1s) == "expired");
    // One line, through the process's own (escaping) logger, naming what took too long.
    CHECK(h.Stderr() ==
          "[helper] [error] blocking took longer than 300 ms: ending the process now\n");
  }
}

TEST_CASE("exit watchdog: a new phase's bound replaces the old one, even a shorter one") {
  Helper h("phase", 300ms);  // armed with 60 s, then a phase of 300 ms
  REQUIRE(h.Line() == "armed");
  CHECK(ExitedWith(h.Wait(300ms + kSlack), 3));
  CHECK_THAT(h.Stderr(), Catch::Contains("the second phase took longer than 300 ms"));
}

TEST_CASE("exit watchdog: the lifeline's EOF ends the process at once, with status 0") {
  Helper h("block", 60000ms);
  REQUIRE(h.Line() == "armed");
  h.CloseLifeline();
  CHECK(ExitedWith(h.Wait(kSlack), 0));
  CHECK(h.Line(100ms) == "");  // no expiry
}

TEST_CASE("exit watchdog: SIGTERM, blocked in every thread, ends the process at once, of SIGTERM") {
  Helper h("block", 60000ms);
  REQUIRE(h.Line() == "armed");
  REQUIRE(kill(h.pid(), SIGTERM) == 0);
  std::optional<int> status = h.Wait(kSlack);
  REQUIRE(status.has_value());
  CHECK((WIFSIGNALED(*status) && WTERMSIG(*status) == SIGTERM));
  CHECK_THAT(h.Stderr(), Catch::Contains("SIGTERM while exiting"));
}

TEST_CASE("exit watchdog: KillOwnChildren on expiry takes the process's children with it") {
  Helper h("children", 300ms);
  std::string child = h.Line();
  REQUIRE(child.rfind("child ", 0) == 0);
  pid_t sleeper = static_cast<pid_t>(std::stol(child.substr(6)));
  REQUIRE(sleeper > 0);
  REQUIRE(h.Line() == "armed");
  CHECK(Alive(sleeper));
  CHECK(ExitedWith(h.Wait(300ms + kSlack), 3));
  // Reparented to this process (a subreaper, support/main.cc), which Alive() reaps.
  CHECK(WaitFor([&] { return !Alive(sleeper); }, kSlack));
  if (Alive(sleeper)) kill(sleeper, SIGKILL);  // still ours, unreaped: its pid is its own
}
