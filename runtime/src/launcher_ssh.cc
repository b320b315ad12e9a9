// The ssh launcher: the OpenSSH client runs arbor-node on another host. Only the controller
// uses it (ControllerStarts() in launcher.h says why).
//
// ssh's stdin is the controller lifeline: the remote node reads its stdin as its own lifeline
// (--lifeline-fd 0), so when the controller dies, the lifeline's EOF travels down the session
// and the node exits. A killed ssh client ends the session the same way. The node's ready line
// comes back on ssh's stdout; ssh's own errors ("Connection refused", "Permission denied") on
// its stderr, which become the create's error message.
//
// ServerAlive keeps a session through a short partition (the tree heals by itself when the
// link returns, as the DESIGN's partition facts require), and ends it after about 30 s of
// silence: the node then exits and its parent's restart policy applies.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "arbor/config_handoff.h"
#include "arbor/launcher.h"
#include "arbor/worker_pool.h"
#include "process_spawn.h"

namespace arbor {
namespace {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Copies whatever the remote node writes (its log lines) to our stderr until the session ends,
// so that ssh never blocks on a full pipe. Fails when no thread can start: the launch fails
// then, rather than leave a session that would hang once its pipe fills.
Status Drain(Fd out, Fd err) {
  std::thread drain;
  Status started = StartThread(drain, [out = std::move(out), err = std::move(err)]() mutable {
    pollfd fds[2] = {{out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}};
    char buf[4096];
    for (int open = 2; open > 0;) {
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      for (pollfd& p : fds) {
        if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::read(p.fd, buf, sizeof buf);
        if (n > 0) {
          [[maybe_unused]] ssize_t w = ::write(2, buf, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
          p.fd = -1;
          --open;
        }
      }
    }
  });
  if (started.ok()) drain.detach();
  return started;
}

// The last non-empty lines ssh printed, once it has exited (bounded wait).
std::string SshError(int err_fd) {
  std::string text;
  char buf[4096];
  for (int i = 0; i < 50 && text.size() < 16384; ++i) {
    pollfd p{err_fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) break;
    ssize_t n = ::read(err_fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

class SshLauncher final : public Launcher {
 public:
  explicit SshLauncher(const Config& config) : config_(config), hex_(ConfigToHex(config)) {}

  Result<LaunchedNode> Launch(const NodeLaunch& l) override {
    const HostSpec* h = config_.Host(l.host);
    if (h == nullptr) return NotFound(fmt::format("no host '{}'", l.host));
    Result<std::pair<Fd, Fd>> out = MakePipe(), err = MakePipe();
    if (!out.ok() || !err.ok()) return Internal("cannot make pipes for ssh");
    // Without a lifeline the node would see EOF on its stdin, and exit, at once.
    if (l.lifeline_fd < 0) return FailedPrecondition("an ssh launch needs the controller lifeline");
    SpawnSpec spec;
    spec.argv = SshArgs(*h, l);
    spec.search_path = true;
    spec.new_process_group = l.new_process_group;  // a Ctrl-C at the terminal must not end it
    spec.fds = {{l.lifeline_fd, 0}, {out->second.get(), 1}, {err->second.get(), 2}};
    Result<pid_t> ssh = SpawnProcess(spec);
    out->second.Reset();
    err->second.Reset();
    if (!ssh.ok()) return ssh.status();
    Result<std::string> line = ReadReadyLine(out->first.get(), l.start_timeout);
    Result<LaunchedNode> node = line.ok() ? ParseReadyLine(l.id, *line) : line.status();
    if (node.ok()) {
      node->local_pid = *ssh;
      Status drained = Drain(std::move(out->first), std::move(err->first));
      if (drained.ok()) return node;
      node = Status(drained.code(), fmt::format("node {}: {}", l.id, drained.message()));
    }
    ::kill(*ssh, SIGKILL);  // the remote node sees its session end; the supervisor reaps ssh
    std::string said = SshError(err->first.get());
    if (line.ok() || said.empty()) return node.status();
    return Unavailable(said.rfind("ssh: ", 0) == 0 ? said : "ssh: " + said);
  }

 private:
  std::vector<std::string> SshArgs(const HostSpec& h, const NodeLaunch& l) const {
    auto timeout = std::clamp<long long>(l.start_timeout.count() / 1000, 1, 30);
    // ssh takes the first value it sees for an option: the deployment's come first, so they
    // can override the defaults below.
    std::vector<std::string> a = {"ssh"};
    for (const std::string& o : h.ssh_options) a.insert(a.end(), {"-o", o});
    a.insert(a.end(), {"-T", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                                  "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=6",
                                  "-o", fmt::format("ConnectTimeout={}", timeout),
                                  "-p", std::to_string(h.ssh_port)});
    if (!h.ssh_identity.empty()) {
      a.insert(a.end(), {"-i", h.ssh_identity, "-o", "IdentitiesOnly=yes"});
    }
    if (!h.ssh_known_hosts.empty()) {
      a.insert(a.end(), {"-o", "UserKnownHostsFile=" + h.ssh_known_hosts, "-o",
                         "StrictHostKeyChecking=yes"});
    }
    if (!h.ssh_user.empty()) a.insert(a.end(), {"-l", h.ssh_user});
    a.insert(a.end(), {h.address, "--", RemoteCommand(h, l)});
    return a;
  }

  // One string: ssh hands it to the remote user's shell.
  std::string RemoteCommand(const HostSpec& h, const NodeLaunch& l) const {
    std::vector<std::string> args = {h.arbor_node, "--id", std::to_string(l.id), "--session",
                                     l.session, "--host", l.host, "--ready-fd", "1",
                                     "--lifeline-fd", "0", "--config-hex", hex_};
    if (l.parent_id) args.insert(args.end(), {"--parent-id", std::to_string(*l.parent_id)});
    if (!l.parent_host.empty()) args.insert(args.end(), {"--parent-host", l.parent_host});
    if (l.respawn) args.push_back("--respawn");
    std::string cmd = "exec";
    for (const std::string& a : args) {
      cmd += ' ';
      cmd += ShellQuote(a);
    }
    return cmd;
  }

  const Config& config_;
  const std::string hex_;
};

}  // namespace

std::unique_ptr<Launcher> MakeSshLauncher(const Config& config) {
  return std::make_unique<SshLauncher>(config);
}

}  // namespace arbor
