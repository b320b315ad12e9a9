// The local launcher: posix_spawn of arbor-node on this machine.
#include <signal.h>

#include <fmt/format.h>

#include "arbor/launcher.h"
#include "process_spawn.h"

namespace arbor {
namespace {

std::vector<std::string> NodeArgs(const NodeLaunch& l) {
  std::vector<std::string> args = {l.binary, "--id", std::to_string(l.id), "--session",
                                   l.session, "--ready-fd", std::to_string(kReadyFd)};
  if (l.lifeline_fd >= 0) args.insert(args.end(), {"--lifeline-fd", std::to_string(kLifelineFd)});
  if (l.config_fd >= 0) args.insert(args.end(), {"--config-fd", std::to_string(kConfigFd)});
  if (!l.host.empty()) args.insert(args.end(), {"--host", l.host});
  if (l.parent_id) args.insert(args.end(), {"--parent-id", std::to_string(*l.parent_id)});
  if (!l.parent_host.empty()) args.insert(args.end(), {"--parent-host", l.parent_host});
  if (l.respawn) args.push_back("--respawn");
  return args;
}

class PosixLauncher final : public Launcher {
 public:
  Result<LaunchedNode> Launch(const NodeLaunch& l) override {
    Result<std::pair<Fd, Fd>> ready = MakePipe();
    if (!ready.ok()) return ready.status();
    SpawnSpec spec;
    spec.argv = NodeArgs(l);
    spec.new_process_group = l.new_process_group;
    spec.fds.emplace_back(ready->second.get(), kReadyFd);
    if (l.lifeline_fd >= 0) spec.fds.emplace_back(l.lifeline_fd, kLifelineFd);
    if (l.config_fd >= 0) spec.fds.emplace_back(l.config_fd, kConfigFd);
    Result<pid_t> pid = SpawnProcess(spec);
    ready->second.Reset();  // only the child may hold the write end, or EOF never comes
    if (!pid.ok()) return pid.status();

    Result<std::string> line = ReadReadyLine(ready->first.get(), l.start_timeout);
    Result<LaunchedNode> node =
        line.ok() ? ParseReadyLine(l.id, *line)
                  : Result<LaunchedNode>(Unavailable(
                        fmt::format("node {} (pid {}) {}", l.id, *pid, line.status().message())));
    if (node.ok()) {
      node->pid = *pid;  // the same process, seen from here
      node->local_pid = *pid;
      return node;
    }
    ::kill(*pid, SIGKILL);  // the parent's supervisor reaps it
    return node.status();
  }
};

}  // namespace

Launcher& LocalLauncher() {
  static PosixLauncher launcher;
  return launcher;
}

}  // namespace arbor
