#include "arbor/spawner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace arbor {
namespace {

// Owns a descriptor; closes it on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Reads the node's single ready line, until newline, EOF or the deadline.
Result<std::string> ReadReadyLine(int fd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string line;
  char buf[512];
  while (line.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Unavailable("timed out");
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = ::read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: the node exited before it was ready
    line.append(buf, static_cast<std::size_t>(got));
  }
  if (line.empty()) return Unavailable("exited before it was ready");
  return line.substr(0, line.find('\n'));
}

class PosixSpawner final : public Spawner {
 public:
  Result<LaunchedNode> Launch(const NodeLaunch& l) override {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return Internal(fmt::format("pipe: {}", strerror(errno)));
    Fd ready_r(ready[0]);
    // Move the child's ends above the fixed target numbers, so the dup2 actions below cannot
    // overwrite a source before it is copied.
    Fd ready_w(::fcntl(ready[1], F_DUPFD_CLOEXEC, 10));
    ::close(ready[1]);
    Fd lifeline(l.lifeline_fd >= 0 ? ::fcntl(l.lifeline_fd, F_DUPFD_CLOEXEC, 10) : -1);
    Fd config(l.config_fd >= 0 ? ::fcntl(l.config_fd, F_DUPFD_CLOEXEC, 10) : -1);

    std::vector<std::string> args = {l.binary, "--id", std::to_string(l.id), "--session",
                                     l.session, "--ready-fd", std::to_string(kReadyFd)};
    if (lifeline.get() >= 0) args.insert(args.end(), {"--lifeline-fd", std::to_string(kLifelineFd)});
    if (config.get() >= 0) args.insert(args.end(), {"--config-fd", std::to_string(kConfigFd)});
    if (l.parent_id) args.insert(args.end(), {"--parent-id", std::to_string(*l.parent_id)});
    if (l.respawn) args.push_back("--respawn");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    posix_spawn_file_actions_adddup2(&fa, ready_w.get(), kReadyFd);
    if (lifeline.get() >= 0) posix_spawn_file_actions_adddup2(&fa, lifeline.get(), kLifelineFd);
    if (config.get() >= 0) posix_spawn_file_actions_adddup2(&fa, config.get(), kConfigFd);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, l.new_process_group ? 0 : ::getpgrp());
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    pid_t pid = -1;
    int rv = ::posix_spawn(&pid, l.binary.c_str(), &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ready_w.Reset();  // only the child may hold the write end, or EOF never comes
    lifeline.Reset();
    config.Reset();
    if (rv != 0) {
      return FailedPrecondition(fmt::format("cannot start {}: {}", l.binary, strerror(rv)));
    }

    Result<std::string> line = ReadReadyLine(ready_r.get(), l.start_timeout);
    if (line.ok() && line->rfind("ok ", 0) == 0) return LaunchedNode{pid, line->substr(3)};
    ::kill(pid, SIGKILL);  // the parent's supervisor reaps it
    if (!line.ok()) {
      return Unavailable(fmt::format("node {} (pid {}) {}", l.id, pid, line.status().message()));
    }
    std::string why = line->rfind("error ", 0) == 0 ? line->substr(6) : *line;
    return FailedPrecondition(fmt::format("node {} failed to start: {}", l.id, why));
  }
};

}  // namespace

Spawner& DefaultSpawner() {
  static PosixSpawner spawner;
  return spawner;
}

}  // namespace arbor
