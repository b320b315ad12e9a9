// Process starting and the ready-line protocol, shared by the local and ssh launchers.
//
// SpawnProcess() is posix_spawn with arbor's conventions: an empty signal mask, default
// SIGPIPE/SIGINT/SIGTERM, and the caller's process group unless asked for a new one (a Ctrl-C
// at the controller's terminal must not reach the tree).
// Thread-safety: every function may run on several threads at once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "arbor/launcher.h"
#include "arbor/result.h"

namespace arbor {

// Owns a descriptor; closes it on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) Reset(o.release());
    return *this;
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1);

 private:
  int fd_;
};

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is the program
  bool search_path = false;       // look argv[0] up on PATH (for ssh)
  // (source, target): the child gets `source` as descriptor `target`. Targets 0 and 1 default
  // to /dev/null and a copy of stderr.
  std::vector<std::pair<int, int>> fds;
  bool new_process_group = false;
};

Result<pid_t> SpawnProcess(const SpawnSpec& spec);

// A close-on-exec pipe: [0] read end, [1] write end.
Result<std::pair<Fd, Fd>> MakePipe();

// Reads one line, until newline, EOF or `timeout`. Unavailable("timed out") or
// Unavailable("exited before it was ready") when there is none.
Result<std::string> ReadReadyLine(int fd, std::chrono::milliseconds timeout);

// Parses "ok <pid> <url>" into a LaunchedNode (local_pid unset); an "error <message>" line, or
// anything else, becomes FailedPrecondition naming the node.
Result<LaunchedNode> ParseReadyLine(NodeId id, const std::string& line);

// What a node writes on its ready descriptor.
std::string ReadyLine(pid_t pid, const std::string& url);

}  // namespace arbor
