// Process helpers for tests that check what really runs: is a pid alive, who is its parent,
// and waiting for a condition with a deadline instead of sleeping a fixed time.
#pragma once

#include <spawn.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace arbor::testing {

// True while `pid` runs (a zombie counts as dead). Reaps it if it is our zombie.
bool Alive(pid_t pid);
// Sends SIGSTOP and waits until every thread of `pid` is stopped. A stop is not instant: under
// load the threads of a process can run on for milliseconds, serving requests meanwhile.
bool StopAndWait(pid_t pid);
// The parent pid from /proc, or -1.
pid_t ParentOf(pid_t pid);
// Polls `condition` every few ms until it holds or `timeout` passes; returns its last value.
bool WaitFor(std::function<bool()> condition, std::chrono::milliseconds timeout);
// How many times the threads of `pid` have blocked so far (the sum of voluntary_ctxt_switches
// over /proc/<pid>/task): each is one wait ending, so the growth over an interval counts the
// process's wake-ups. An event count, not a time: a loaded machine delays wake-ups but does not
// add any. Threads that exited are not counted.
long WakeUps(pid_t pid);
// Every running arbor-node process whose command line contains `session`.
std::vector<pid_t> NodesOfSession(const std::string& session);
// The running arbor-node of `session` with id `id` (the newest if, for a moment, two are), or -1.
pid_t NodePid(const std::string& session, long id);

// posix_spawn(p) of `argv` with the file actions `fa`, and with no signal blocked: the test
// binaries block SIGCHLD (support/main.cc), and a program that waits for its own children
// (cmake, the controller) must not inherit that mask. 0, or the errno of the failure.
int SpawnUnblocked(pid_t* pid, char* const argv[], const posix_spawn_file_actions_t* fa,
                   char* const envp[], bool search_path = false);

// What a program printed and how it ended.
struct ProgramRun {
  int exit_code = -1;      // -1 when killed by a signal or timed out
  bool timed_out = false;  // killed after `timeout`
  std::string output;      // stdout and stderr, interleaved as written
};
// Runs argv (argv[0] searched in PATH) with posix_spawn, stdin from /dev/null, and waits at most
// `timeout` for it to exit.
ProgramRun RunProgram(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

}  // namespace arbor::testing
