#include "arbor/exit_watchdog.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>
// glibc 2.36 (Debian 12) declares these without extern "C": a C++ caller fails to link.
extern "C" {
#include <sys/pidfd.h>
}

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "arbor/worker_pool.h"

namespace arbor {

Result<ExitWatchdog*> ExitWatchdog::Arm(Options options, std::string what,
                                        std::chrono::milliseconds bound) {
  // Leaked on purpose, and so are its descriptors when it fails to start: nothing of it may
  // ever be destroyed under a thread that runs until the process ends.
  auto* w = new ExitWatchdog(std::move(options));
  w->logger_ = spdlog::default_logger();
  w->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->wake_fd_ < 0) return Internal(std::string("eventfd: ") + std::strerror(errno));
  if (w->options_.end_on_term) {
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    w->term_fd_ = signalfd(-1, &term, SFD_CLOEXEC | SFD_NONBLOCK);
    if (w->term_fd_ < 0) return Internal(std::string("signalfd: ") + std::strerror(errno));
  }
  w->Phase(std::move(what), bound);
  std::thread t;
  if (Status s = StartThread(t, [w] { w->Watch(); }); !s.ok()) return s;
  t.detach();
  return w;
}

void ExitWatchdog::Phase(std::string what, std::chrono::milliseconds bound) {
  {
    std::lock_guard lock(mu_);
    what_ = std::move(what);
    bound_ = bound;
    deadline_ = DeadlineIn(bound);
  }
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

int ExitWatchdog::MsLeft() {
  std::lock_guard lock(mu_);
  return static_cast<int>(std::min<std::uint32_t>(RemainingMs(deadline_), INT32_MAX));
}

void ExitWatchdog::Watch() {
  int lifeline = options_.lifeline_fd;
  for (;;) {
    int left = MsLeft();
    if (left == 0) Expire();
    pollfd fds[3] = {{wake_fd_, POLLIN, 0}, {term_fd_, POLLIN, 0}, {lifeline, POLLIN, 0}};
    if (poll(fds, 3, left) < 0) {  // poll skips the negative descriptors
      // Only a shortage of kernel memory; the deadline must hold even then.
      if (errno != EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    // Nobody ever writes to a lifeline: any event on it means its other end is gone. One that
    // was never open (a node run by hand with a wrong --lifeline-fd) is no lifeline.
    if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) std::_Exit(0);
    if (fds[2].revents & POLLNVAL) lifeline = -1;
    signalfd_siginfo info;
    if ((fds[1].revents & POLLIN) && read(term_fd_, &info, sizeof info) == sizeof info) EndOnTerm();
    if (fds[0].revents & POLLIN) {  // a new phase: its deadline is read at the top
      std::uint64_t wakes;
      [[maybe_unused]] ssize_t n = read(wake_fd_, &wakes, sizeof wakes);
    }
  }
}

namespace {

// The last log line goes to stderr, which may be a pipe nobody reads any more. Should the write
// block, SIGALRM ends the process a second later: its default action, whatever was inherited.
void BoundLastWords() {
  signal(SIGALRM, SIG_DFL);
  alarm(1);
}

}  // namespace

void ExitWatchdog::Expire() {
  std::string what;
  long long bound;
  {
    std::lock_guard lock(mu_);
    what = what_;
    bound = bound_.count();
  }
  if (options_.on_expiry) options_.on_expiry();  // first: the log line below may block
  BoundLastWords();
  if (logger_) {
    logger_->error("{} took longer than {} ms: ending the process now", what, bound);
    logger_->flush();
  }
  std::_Exit(options_.exit_code);
}

void ExitWatchdog::EndOnTerm() {
  BoundLastWords();
  if (logger_) {
    logger_->warn("SIGTERM while exiting: ending the process now");
    logger_->flush();
  }
  // Dies of the signal, as an unhandled SIGTERM would: it is blocked in every thread, so it is
  // let through in this one only, aimed at this one.
  signal(SIGTERM, SIG_DFL);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &term, nullptr);
  raise(SIGTERM);
  std::_Exit(128 + SIGTERM);  // the shell's code for it, should the signal not end us
}

namespace {

// The parent pid from /proc/<pid>/stat, or -1. It follows the command name, which may hold
// spaces and parentheses: the last ')' ends it.
pid_t ParentOf(const char* pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%s/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* end = std::strrchr(buf, ')');
  if (end == nullptr) return -1;
  char state;
  int ppid;
  return std::sscanf(end + 1, " %c %d", &state, &ppid) == 2 ? ppid : -1;
}

}  // namespace

void KillOwnChildren() {
  // Linux lists a process's children only with CONFIG_PROC_CHILDREN
  // (/proc/<pid>/task/*/children), which kernels may lack (this machine's does): every process
  // is looked at instead.
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return;
  const pid_t self = getpid();
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9' || ParentOf(e->d_name) != self) continue;
    // A child reaped (by our supervisor thread) since the look above may have lent its pid to
    // a stranger. So the pidfd is taken first and the parent checked again after: when it is
    // still us, the pidfd is our child's; when the pid changed hands in between, the pidfd is
    // a dead process's, and the signal goes nowhere.
    int pidfd = pidfd_open(static_cast<pid_t>(std::atoi(e->d_name)), 0);
    if (pidfd < 0) continue;
    if (ParentOf(e->d_name) == self) pidfd_send_signal(pidfd, SIGKILL, nullptr, 0);
    close(pidfd);
  }
  closedir(proc);
}

}  // namespace arbor
