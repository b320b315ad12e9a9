#include "process_spawn.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace arbor {

void Fd::Reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<std::pair<Fd, Fd>> MakePipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Internal(fmt::format("pipe: {}", std::strerror(errno)));
  return std::pair<Fd, Fd>(Fd(p[0]), Fd(p[1]));
}

Result<pid_t> SpawnProcess(const SpawnSpec& spec) {
  // Copies above every target number first, so that no dup2 below overwrites a source before
  // it is copied.
  std::vector<Fd> sources;
  for (const auto& [source, target] : spec.fds) {
    sources.emplace_back(::fcntl(source, F_DUPFD_CLOEXEC, 10));
    if (sources.back().get() < 0) return Internal(fmt::format("dup: {}", std::strerror(errno)));
  }
  auto targets = [&](int t) {
    for (const auto& f : spec.fds) {
      if (f.second == t) return true;
    }
    return false;
  };
  posix_spawn_file_actions_t fa;
  if (int rv = posix_spawn_file_actions_init(&fa); rv != 0) {
    return Internal(fmt::format("cannot start {}: {}", spec.argv[0], std::strerror(rv)));
  }
  // Each action allocates: out of memory, the child would start without its descriptors.
  int actions = 0;
  if (!targets(0)) actions = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (!targets(1) && actions == 0) actions = posix_spawn_file_actions_adddup2(&fa, 2, 1);
  for (std::size_t i = 0; i < spec.fds.size() && actions == 0; ++i) {
    actions = posix_spawn_file_actions_adddup2(&fa, sources[i].get(), spec.fds[i].second);
  }
  if (actions != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return Internal(fmt::format("cannot start {}: {}", spec.argv[0], std::strerror(actions)));
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, spec.new_process_group ? 0 : ::getpgrp());
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETPGROUP);
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rv = spec.search_path
               ? ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ)
               : ::posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rv != 0) {
    return FailedPrecondition(fmt::format("cannot start {}: {}", spec.argv[0], std::strerror(rv)));
  }
  return pid;
}

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
    if (line.size() > 64 * 1024) break;  // no sane ready line is this long
  }
  if (line.empty()) return Unavailable("exited before it was ready");
  return line.substr(0, line.find('\n'));
}

Result<LaunchedNode> ParseReadyLine(NodeId id, const std::string& line) {
  if (line.rfind("ok ", 0) == 0) {
    auto space = line.find(' ', 3);
    std::optional<NodeId> pid = ParseNodeId(line.substr(3, space == std::string::npos ? 0 : space - 3));
    if (pid && *pid > 0 && space != std::string::npos && space + 1 < line.size()) {
      return LaunchedNode{static_cast<pid_t>(*pid), -1, line.substr(space + 1)};
    }
  }
  std::string why = line.rfind("error ", 0) == 0 ? line.substr(6) : line;
  return FailedPrecondition(fmt::format("node {} failed to start: {}", id, why));
}

std::string ReadyLine(pid_t pid, const std::string& url) {
  return fmt::format("ok {} {}", pid, url);
}

}  // namespace arbor
