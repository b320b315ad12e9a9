#include "arbor/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace arbor {
namespace {
// How often the loop wakes with nothing else to do: often while cut off from the parent (grace,
// adoption requests) or while watching adopted pids, rarely otherwise. A thousand idle nodes
// waking every 50 ms would keep a small machine busy for nothing.
constexpr int kTickMs = 50;
constexpr int kIdleTickMs = 500;
}  // namespace

void Supervisor::BlockChildSignal(bool and_term) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (and_term) sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

Supervisor::Supervisor(Options options) : options_(std::move(options)) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (options_.stop_on_term) sigaddset(&set, SIGTERM);
  signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) failure_ = std::string("signalfd: ") + std::strerror(errno);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0 && failure_.empty()) failure_ = std::string("eventfd: ") + std::strerror(errno);
}

Supervisor::~Supervisor() {
  if (signal_fd_ >= 0) close(signal_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void Supervisor::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void Supervisor::OnChildExit(std::function<void(pid_t, int)> handler) {
  std::lock_guard lock(mu_);
  on_exit_ = std::move(handler);
}

bool Supervisor::WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu_);
  for (;;) {
    if (exited_.erase(pid) > 0) return true;
    // Reap it here too: Run() may have returned already (a node stopping its children on the
    // way out), and then nobody else would.
    int status = 0;
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid || (got < 0 && errno == ECHILD)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    exited_cv_.wait_for(lock, std::chrono::milliseconds(5));
  }
}

void Supervisor::WatchForeign(pid_t pid) {
  std::lock_guard lock(mu_);
  foreign_.push_back(pid);
}

void Supervisor::UnwatchForeign(pid_t pid) {
  std::lock_guard lock(mu_);
  std::erase(foreign_, pid);
}

namespace {
// Gone, or a zombie nobody reaped yet: either way it serves nobody.
bool ForeignGone(pid_t pid) {
  if (kill(pid, 0) != 0) return errno == ESRCH;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE* f = fopen(path, "r");
  if (f == nullptr) return true;
  char buf[512];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char* close = strrchr(buf, ')');
  return close != nullptr && (close[2] == 'Z' || close[2] == 'X');
}
}  // namespace

void Supervisor::Reap() {
  {
    // WaitExit claims an exit within milliseconds of the kill that caused it; ten seconds is
    // far longer than that, and far shorter than the time pids take to wrap around.
    constexpr auto kClaimWindow = std::chrono::seconds(10);
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    std::erase_if(exited_, [&](const auto& e) { return now - e.second > kClaimWindow; });
  }
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGTERM) term_ = true;
  }
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    std::function<void(pid_t, int)> handler;
    {
      std::lock_guard lock(mu_);
      exited_[pid] = std::chrono::steady_clock::now();
      handler = on_exit_;
    }
    exited_cv_.notify_all();
    if (handler) handler(pid, status);
  }
  std::vector<pid_t> gone;
  std::function<void(pid_t, int)> handler;
  {
    std::lock_guard lock(mu_);
    for (pid_t p : foreign_) {
      if (ForeignGone(p)) gone.push_back(p);
    }
    for (pid_t p : gone) std::erase(foreign_, p);
    handler = on_exit_;
  }
  for (pid_t p : gone) {
    if (handler) handler(p, -1);
  }
}

// How much later than asked a poll may return before the process counts as having been stopped.
constexpr int kStallSlackMs = 200;

Supervisor::Exit Supervisor::Run() {
  auto cut_off_since = std::chrono::steady_clock::now();
  bool busy = true;  // cut off, or watching foreign pids: tick fast
  for (;;) {
    pollfd fds[3] = {{signal_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {options_.lifeline_fd, POLLIN, 0}};
    const int timeout_ms = busy ? kTickMs : kIdleTickMs;
    const auto before = std::chrono::steady_clock::now();
    int n = poll(fds, options_.lifeline_fd >= 0 ? 3 : 2, timeout_ms);
    // Time this process did not run (SIGSTOP, a VM stall) is not time cut off: the parent may
    // have died and come back meanwhile, and needs a grace of running time to take this node
    // back. A poll that returns far later than it should marks such a gap.
    const auto overslept = std::chrono::steady_clock::now() - before -
                           std::chrono::milliseconds(timeout_ms + kStallSlackMs);
    if (overslept > std::chrono::steady_clock::duration::zero()) cut_off_since += overslept;
    if (n < 0 && errno != EINTR) return Exit::kStopped;
    Reap();  // also on timeouts: a SIGCHLD that arrived before the signalfd existed
    {
      std::lock_guard lock(mu_);
      if (stop_) return Exit::kStopped;
    }
    if (term_) return Exit::kTerminated;
    if (options_.lifeline_fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      return Exit::kLifelineLost;  // nobody ever writes to it: any event means EOF
    }
    // Without upstream_peers (the controller) there is no parent to be cut off from: only
    // foreign pids keep the tick fast. Exits of our own children and Stop() wake poll at once.
    bool connected = true;
    if (options_.upstream_peers) {
      auto now = std::chrono::steady_clock::now();
      connected = options_.upstream_peers() > 0;
      if (connected) cut_off_since = now;
      if (!connected && now - cut_off_since >= options_.orphan_grace) return Exit::kOrphaned;
      if (options_.on_tick) {
        options_.on_tick(!connected && now - cut_off_since >= std::chrono::milliseconds(2 * kTickMs));
      }
    }
    std::lock_guard lock(mu_);
    busy = !connected || !foreign_.empty();
  }
}

}  // namespace arbor
