#include "processes.h"

#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <sstream>
#include <thread>

namespace arbor::testing {
namespace {

// Reads a small /proc file. A process can vanish mid-read, and then read(2) fails with ESRCH;
// std::ifstream turns that into an exception, so plain read() is used instead.
std::string ReadProcFile(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

// The state letter and ppid from /proc/<pid>/stat; the command name may contain spaces, so
// parse from the last ')'.
bool ReadStat(pid_t pid, char* state, pid_t* ppid) {
  std::string all = ReadProcFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = all.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(all.substr(close + 1));
  rest >> *state >> *ppid;
  return bool(rest);
}

}  // namespace

bool Alive(pid_t pid) {
  int status;
  waitpid(pid, &status, WNOHANG);  // ours (we are a subreaper): collect it if it is a zombie
  char state = 0;
  pid_t ppid = 0;
  if (!ReadStat(pid, &state, &ppid)) return false;
  return state != 'Z' && state != 'X';
}

bool StopAndWait(pid_t pid) {
  if (kill(pid, SIGSTOP) != 0) return false;
  return WaitFor([pid] {
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
      std::string all = ReadProcFile(t.path() / "stat");
      auto close = all.rfind(')');
      if (close == std::string::npos || all.size() < close + 3 || all[close + 2] != 'T') return false;
    }
    return !ec;
  }, std::chrono::seconds(5));
}

pid_t ParentOf(pid_t pid) {
  char state = 0;
  pid_t ppid = -1;
  return ReadStat(pid, &state, &ppid) ? ppid : -1;
}

long WakeUps(pid_t pid) {
  long total = 0;
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::istringstream status(ReadProcFile(t.path() / "status"));
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0) total += std::stol(line.substr(24));
    }
  }
  return total;
}

bool WaitFor(std::function<bool()> condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::vector<pid_t> NodesOfSession(const std::string& session) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = ReadProcFile(entry.path() / "cmdline");
    for (char& c : cmd) c = c == '\0' ? ' ' : c;
    pid_t pid = std::stoi(name);
    if (cmd.find("arbor-node") != std::string::npos && cmd.find(session) != std::string::npos &&
        Alive(pid)) {
      out.push_back(pid);
    }
  }
  return out;
}

pid_t NodePid(const std::string& session, long id) {
  pid_t found = -1;
  const std::string flag = " --id " + std::to_string(id) + " ";
  for (pid_t pid : NodesOfSession(session)) {
    std::string cmd = ReadProcFile("/proc/" + std::to_string(pid) + "/cmdline");
    for (char& c : cmd) c = c == '\0' ? ' ' : c;
    if (cmd.find(flag) != std::string::npos) found = std::max(found, pid);
  }
  return found;
}

int SpawnUnblocked(pid_t* pid, char* const argv[], const posix_spawn_file_actions_t* fa,
                   char* const envp[], bool search_path) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  int rc = search_path ? posix_spawnp(pid, argv[0], fa, &attr, argv, envp)
                       : posix_spawn(pid, argv[0], fa, &attr, argv, envp);
  posix_spawnattr_destroy(&attr);
  return rc;
}

ProgramRun RunProgram(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  ProgramRun run;
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return run;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDERR_FILENO);
  std::vector<std::string> copy = argv;
  std::vector<char*> args;
  for (std::string& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = SpawnUnblocked(&pid, args.data(), &fa, environ, /*search_path=*/true);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    run.output = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return run;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      run.timed_out = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;  // EOF: the program (and anything it left running) closed its output
    run.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!run.timed_out && WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

}  // namespace arbor::testing
