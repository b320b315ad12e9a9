#include "arbor/child.h"

#include <signal.h>

#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "arbor/control.h"

namespace arbor {

Result<ChildHandle> StartChild(Launcher& launcher, const NodeLaunch& launch,
                               const LinkOptions& link_options) {
  Result<LaunchedNode> started = launcher.Launch(launch);
  if (!started.ok()) return started.status();
  auto fail = [&](Status why) {
    if (started->local_pid > 0) ::kill(started->local_pid, SIGKILL);
    if (launch.host.empty()) return why;
    return Status(why.code(), fmt::format("node {} on host {}: {}", launch.id, launch.host,
                                          why.message()));
  };
  // The node already listens (it said so), so the first connection is made now: a refused one
  // is reported with its reason instead of being retried in silence.
  Result<std::unique_ptr<NodeLink>> link =
      NodeLink::Dial(started->url, link_options, launch.start_timeout);
  if (!link.ok()) return fail(link.status());
  // Greeted, not only connected: the node counts us as its parent only once our hello is in.
  if (!(*link)->WaitGreeted(DeadlineIn(launch.start_timeout))) {
    return fail(Unavailable("node " + std::to_string(launch.id) + " accepted no connection"));
  }
  return ChildHandle{launch.id, started->pid, started->local_pid, started->url,
                     std::move(link).value(), launch.host, true};
}

void StopChild(ChildHandle& child, Supervisor& supervisor, Deadline deadline) {
  bool asked = false;
  // A child whose connection is gone (killed, or still being restarted) cannot answer: asking
  // would only wait out the deadline, and hold up every exit behind this one.
  if (child.link && child.link->connected()) {
    Request bye;
    bye.target = child.id;
    bye.budget_ms = RemainingMs(deadline);
    bye.ops.push_back({std::string(kShutdownVerb), {}});
    Result<Reply> r = child.link->Call(bye, deadline);
    asked = r.ok() && r->route.ok();
    if (!asked) spdlog::debug("shutdown of node {}: {}", child.id, r.status().ToString());
  }
  if (child.local_pid > 0) {
    using namespace std::chrono_literals;
    // A node that acknowledged exits right after its reply; one that did not (dead or hung)
    // gets SIGKILL at once, unless it is already gone: its pid may have been reused since.
    // Its own children then exit after their orphan grace. For a node on another host,
    // local_pid is its ssh client, whose death ends the node's session, and so the node.
    if (child.ours) {
      if (!supervisor.WaitExit(child.local_pid, asked ? 1000ms : 0ms)) {
        ::kill(child.local_pid, SIGKILL);
        supervisor.WaitExit(child.local_pid, 2000ms);
      }
    } else {
      supervisor.UnwatchForeign(child.local_pid);
      auto gone = [&] { return ::kill(child.local_pid, 0) != 0; };
      for (int i = 0; asked && i < 200 && !gone(); ++i) std::this_thread::sleep_for(5ms);
      if (!gone()) ::kill(child.local_pid, SIGKILL);
    }
  }
  if (child.link) child.link->Close();
  child.link.reset();
  child.pid = child.local_pid = -1;
}

}  // namespace arbor
