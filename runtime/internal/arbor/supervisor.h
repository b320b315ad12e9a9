// Supervisor: the part of a process that watches processes.
//
// It owns three duties, all driven from one poll loop in Run():
//  - reaping: it collects every child that exits (SIGCHLD via signalfd), so no zombie stays,
//    and lets others wait for a given pid (WaitExit) or react to exits (OnChildExit, the seam
//    where a restart policy plugs in);
//  - the controller lifeline: when the read end given to it reports EOF, the controller is gone
//    and Run() returns kLifelineLost at once;
//  - orphan grace: when `upstream_peers` reports no connection for `orphan_grace`, nobody can
//    reach this node any more and Run() returns kOrphaned.
//
// Call BlockChildSignal() first thing in main(), before any thread starts, so that SIGCHLD is
// blocked in every thread and reaches only the signalfd.
// Thread-safety: Stop(), WaitExit() and OnChildExit() may be called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace arbor {

class Supervisor {
 public:
  struct Options {
    int lifeline_fd = -1;                        // -1: no lifeline to watch
    std::chrono::milliseconds orphan_grace{0};   // used only when upstream_peers is set
    std::function<int()> upstream_peers;         // connections from the parent right now
    // SIGTERM ends Run() with kTerminated (blocked by BlockChildSignal(true) first): a node
    // that is PID 1 of a container gets no default action for it.
    bool stop_on_term = false;
    // Called on each tick (about every 50 ms) with whether upstream_peers() has been 0 for a
    // while: a cut-off node asks its parent's endpoint to adopt it back (Node::OnTick).
    std::function<void(bool cut_off)> on_tick;
  };
  enum class Exit { kStopped, kLifelineLost, kOrphaned, kTerminated };

  explicit Supervisor(Options options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  static void BlockChildSignal(bool and_term = false);

  // Empty when the descriptors it watches through were made; otherwise why not (the process
  // is out of descriptors or memory). A supervisor that failed reaps nothing: do not Run() it.
  const std::string& failure() const { return failure_; }

  // Runs until Stop(), lifeline loss, orphaning or SIGTERM. Once it has returned, nothing here
  // watches the lifeline or reads SIGTERM any more: a process that goes on to stop has an
  // ExitWatchdog (exit_watchdog.h) do it, and bound the rest.
  Exit Run();
  void Stop();

  // True when `pid` has exited (and been reaped) within `timeout`.
  bool WaitExit(pid_t pid, std::chrono::milliseconds timeout);
  // Called on the supervisor thread for each reaped child, with its wait status, and for each
  // watched foreign process that disappeared, with status -1.
  void OnChildExit(std::function<void(pid_t pid, int status)> handler);
  // Watches a process that is not our child (an adopted node, whose parent died): it cannot
  // be reaped, so its disappearance is noticed by polling. Unwatch when done with it.
  void WatchForeign(pid_t pid);
  void UnwatchForeign(pid_t pid);

 private:
  void Reap();

  Options options_;
  int signal_fd_ = -1;
  int wake_fd_ = -1;
  std::string failure_;
  std::mutex mu_;
  std::condition_variable exited_cv_;
  // Reaped and not yet claimed by WaitExit, with when. An exit nobody claims (a child that
  // died on its own, an orphan reparented to a subreaper) is forgotten after a while: its pid
  // will be reused, and a later WaitExit for the new process must not find the old exit.
  std::map<pid_t, std::chrono::steady_clock::time_point> exited_;
  std::vector<pid_t> foreign_;
  std::function<void(pid_t, int)> on_exit_;
  bool stop_ = false;
  bool term_ = false;  // only the Run() thread touches it
};

}  // namespace arbor
