// A process that arms an ExitWatchdog and then never ends by itself, for exit_watchdog_test:
//   exit_watchdog_helper MODE BOUND_MS
// It blocks SIGTERM as arbor-node does, watches stdin as its lifeline, logs to stderr through an
// escaping logger, and exits with 3 when a bound passes (printing "expired" first). It prints
// "armed" once the watchdog runs, then, by MODE:
//   block       blocks in main
//   at-exit     returns from main into an exit handler that blocks
//   phase       arms with 60 s, starts a phase of BOUND_MS 200 ms later, and blocks
//   children    starts `sleep 600` first (printing "child <pid>"), kills its children when the
//               bound passes, and blocks
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "arbor/escape.h"
#include "arbor/exit_watchdog.h"
#include "arbor/supervisor.h"

extern char** environ;

namespace {

void Say(const std::string& line) {
  std::string text = line + "\n";
  [[maybe_unused]] ssize_t n = write(1, text.data(), text.size());
}

[[noreturn]] void BlockForever() {
  for (;;) pause();
}

pid_t StartSleep() {
  char sleep[] = "sleep", arg[] = "600";
  char* argv[] = {sleep, arg, nullptr};
  pid_t pid = -1;
  posix_spawnp(&pid, "sleep", nullptr, nullptr, argv, environ);
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  arbor::Supervisor::BlockChildSignal(/*and_term=*/true);
  if (argc != 3) {
    std::fprintf(stderr, "usage: exit_watchdog_helper block|at-exit|phase|children BOUND_MS\n");
    return 2;
  }
  const std::string mode = argv[1];
  const std::chrono::milliseconds bound(std::atoi(argv[2]));
  auto logger = spdlog::stderr_color_mt("helper");
  arbor::InstallEscapingPattern(*logger, "[helper] [%l] %E");
  spdlog::set_default_logger(logger);

  if (mode == "children") Say("child " + std::to_string(StartSleep()));
  arbor::ExitWatchdog::Options o;
  o.lifeline_fd = 0;
  o.end_on_term = true;
  o.exit_code = 3;
  o.on_expiry = [children = mode == "children"] {
    if (children) arbor::KillOwnChildren();
    Say("expired");
  };
  bool phase = mode == "phase";
  auto armed = arbor::ExitWatchdog::Arm(o, phase ? "the first phase" : "blocking",
                                        phase ? std::chrono::milliseconds(60000) : bound);
  if (!armed.ok()) {
    std::fprintf(stderr, "%s\n", armed.status().message().c_str());
    return 1;
  }
  if (phase) {
    // Late enough that the watchdog already waits out the first phase's deadline.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    (*armed)->Phase("the second phase", bound);
  }
  Say("armed");
  if (mode == "at-exit") {
    std::atexit([] { BlockForever(); });
    return 0;
  }
  BlockForever();
}
