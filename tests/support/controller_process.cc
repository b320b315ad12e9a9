#include "controller_process.h"

#include "processes.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace arbor::testing {

std::string BinDir() { return ARBOR_BIN_DIR; }
std::string TestConfig(const std::string& name) {
  return std::string(ARBOR_TEST_CONFIG_DIR) + "/" + name;
}

namespace {

// This process's environment with `changes` applied ("NAME=value" sets, "NAME" unsets).
std::vector<std::string> Environment(const std::vector<std::string>& changes) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (const std::string& change : changes) {
    std::string name = change.substr(0, change.find('='));
    std::erase_if(env, [&](const std::string& e) { return e.rfind(name + "=", 0) == 0; });
    if (change.find('=') != std::string::npos) env.push_back(change);
  }
  return env;
}

}  // namespace

ControllerProcess::ControllerProcess(std::vector<std::string> args, Mode mode,
                                     std::vector<std::string> env_changes, std::string binary) {
  static int counter = 0;
  stderr_path_ = "/tmp/arbor-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) +
                 ".stderr";
  if (binary.empty()) binary = BinDir() + "/arbor";
  std::vector<std::string> argv_s = {binary};
  bool own_home = std::any_of(env_changes.begin(), env_changes.end(),
                              [](const std::string& e) { return e.rfind("HOME=", 0) == 0; });
  if (!own_home) argv_s.insert(argv_s.end(), {"--history", ""});
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (mode != Mode::kPipe) env_changes.insert(env_changes.begin(), "TERM=xterm");
  std::vector<std::string> env_s = Environment(env_changes);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  int child_in = -1, child_out = -1;
  if (mode == Mode::kPipe) {
    int a[2], b[2];
    if (pipe2(a, O_CLOEXEC) != 0 || pipe2(b, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    child_in = a[0], in_ = a[1], out_ = b[0], child_out = b[1];
  } else {
    int master, slave;
    winsize size{};
    size.ws_row = kPtyRows;
    size.ws_col = kPtyColumns;
    if (openpty(&master, &slave, nullptr, nullptr, &size) != 0) throw std::runtime_error("pty");
    fcntl(master, F_SETFD, FD_CLOEXEC);
    fcntl(slave, F_SETFD, FD_CLOEXEC);
    in_ = master, out_ = dup(master), child_in = slave, child_out = dup(slave);
    fcntl(out_, F_SETFD, FD_CLOEXEC);
    fcntl(child_out, F_SETFD, FD_CLOEXEC);
  }
  posix_spawn_file_actions_adddup2(&fa, child_in, 0);
  posix_spawn_file_actions_adddup2(&fa, child_out, 1);
  if (mode == Mode::kPtyWithStderr) {
    posix_spawn_file_actions_adddup2(&fa, child_out, 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
  }
  int rv = SpawnUnblocked(&pid_, argv.data(), &fa, envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(child_in);
  close(child_out);
  if (rv != 0) throw std::runtime_error(std::string("spawn arbor: ") + strerror(rv));
}

bool ControllerProcess::PtyAvailable() {
  int master, slave;
  if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) return false;
  close(master);
  close(slave);
  return true;
}

ControllerProcess::~ControllerProcess() {
  if (!status_) {
    Kill(SIGKILL);
    Wait(5s);
  }
  if (in_ >= 0) close(in_);
  if (out_ >= 0) close(out_);
  unlink(stderr_path_.c_str());
}

std::string ControllerProcess::session_marker() const {
  return "--session " + std::to_string(pid_) + "-";
}

void ControllerProcess::Send(const std::string& line) {
  std::string l = line + "\n";
  if (write(in_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) {
    throw std::runtime_error("write to controller failed");
  }
}

void ControllerProcess::SendRaw(const std::string& bytes) {
  if (write(in_, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    throw std::runtime_error("write to controller failed");
  }
}

std::string ControllerProcess::ReadSome(std::chrono::milliseconds timeout) {
  if (buffer_.empty()) Fill(std::chrono::steady_clock::now() + timeout);
  return std::exchange(buffer_, {});
}

bool ControllerProcess::Fill(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{out_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[4096];
  ssize_t n = read(out_, buf, sizeof buf);
  if (n <= 0) return false;
  buffer_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::optional<std::string> ControllerProcess::ReadLine(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (!Fill(deadline)) return std::nullopt;
  }
}

std::string ControllerProcess::Command(const std::string& line, std::chrono::milliseconds timeout) {
  Send(line);
  return ReadLine(timeout).value_or("<timeout>");
}

std::optional<std::string> ControllerProcess::ReadUntil(const std::string& needle,
                                                        std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buffer_.find(needle) == std::string::npos) {
    if (!Fill(deadline)) return std::nullopt;
  }
  std::string all = buffer_;
  buffer_.erase(0, buffer_.find(needle) + needle.size());
  return all;
}

void ControllerProcess::CloseInput() {
  if (in_ >= 0 && in_ != out_) close(in_);
  in_ = -1;
}

std::optional<int> ControllerProcess::Wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) return status_ = st;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

void ControllerProcess::Kill(int signal) {
  if (!status_) ::kill(pid_, signal);
}

std::string ControllerProcess::Stderr() const {
  std::ifstream in(stderr_path_);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace arbor::testing
