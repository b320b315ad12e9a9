// ExitWatchdog: bounds the time a process takes to end once it has decided to.
//
// A process on its way out still runs code it does not control: nng_close, which was seen to
// block for minutes with TLS pipes open (DESIGN.md, "Faults that overlap"), destructors and exit
// handlers. Meanwhile nothing else watches its lifeline or reads its SIGTERM. Arm() starts a
// thread that ends the process with std::_Exit when the first of these happens:
//  - the lifeline (Options::lifeline_fd) reports EOF or hangup: the controller at its other end
//    is gone, and nobody waits for this process any more. Exit status 0, as when the supervisor
//    sees the same EOF.
//  - SIGTERM arrives (Options::end_on_term; the signal must be blocked in every thread): the
//    process was already stopping, so this one means "now". It dies of SIGTERM, as it would
//    without any handling, which is what the sender and a service manager expect to see.
//  - the current phase's bound passes: on_expiry runs, one log line names the phase, and the
//    process exits with Options::exit_code (or, should that line block on a stderr nobody
//    reads, dies of SIGALRM a second later).
// The thread is detached and its state is never freed, so it keeps working while main() returns,
// static destructors and exit handlers run; only the process's end stops it.
// Thread-safety: Phase() from any thread. Arm() at most once per process.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "arbor/deadline.h"
#include "arbor/result.h"

namespace spdlog {
class logger;
}

namespace arbor {

class ExitWatchdog {
 public:
  struct Options {
    int lifeline_fd = -1;      // -1: none to watch
    bool end_on_term = false;  // read SIGTERM through a signalfd of its own
    int exit_code = 0;         // when a bound passes
    // Runs on the watchdog thread when a bound passes, before the log line and the exit: the
    // controller kills what it started there. It must not block.
    std::function<void()> on_expiry;
  };

  // Starts the thread, with a first phase `what` that must end within `bound`. An error when
  // no thread or descriptor can be had: then nothing bounds the exit. Logs through the default
  // logger as it is now (held: the registry may be gone by the time a bound passes).
  static Result<ExitWatchdog*> Arm(Options options, std::string what,
                                   std::chrono::milliseconds bound);

  // From now on, `what` and everything after it must be done within `bound`, shorter or longer
  // than what was left of the phase before.
  void Phase(std::string what, std::chrono::milliseconds bound);

 private:
  explicit ExitWatchdog(Options options) : options_(std::move(options)) {}
  ExitWatchdog(const ExitWatchdog&) = delete;
  ExitWatchdog& operator=(const ExitWatchdog&) = delete;
  // Never destroyed (see the top of this file), so no destructor closes anything.
  ~ExitWatchdog() = delete;

  [[noreturn]] void Watch();
  [[noreturn]] void Expire();
  [[noreturn]] void EndOnTerm();
  int MsLeft();

  const Options options_;
  std::shared_ptr<spdlog::logger> logger_;
  int wake_fd_ = -1;  // an eventfd: Phase() wakes the poll
  int term_fd_ = -1;  // a signalfd for SIGTERM, or -1
  std::mutex mu_;     // guards the three below
  std::string what_;
  std::chrono::milliseconds bound_{0};
  Clock::time_point deadline_;
};

// Sends SIGKILL to every process whose parent is this one: its children, and, for a subreaper,
// the orphans it inherited. Through pidfds, so a pid reused after a child was reaped is never
// hit. For an on_expiry of a process that must leave nothing behind.
void KillOwnChildren();

}  // namespace arbor
