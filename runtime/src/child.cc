#include "arbor/child.h"

#include <signal.h>

#include <thread>

#include <spdlog/spdlog.h>

namespace arbor {

Result<ChildHandle> StartChild(Spawner& spawner, const NodeLaunch& launch,
                               const LinkOptions& link_options) {
  Result<LaunchedNode> started = spawner.Launch(launch);
  if (!started.ok()) return started.status();
  auto fail = [&](Status why) {
    ::kill(started->pid, SIGKILL);
    return why;
  };
  Result<std::unique_ptr<NodeLink>> link = NodeLink::Dial(started->url, link_options);
  if (!link.ok()) return fail(link.status());
  // The node already listens (it said so on the ready pipe), so this is one local connect.
  if (!(*link)->WaitConnected(DeadlineIn(launch.start_timeout))) {
    return fail(Unavailable("node " + std::to_string(launch.id) + " accepted no connection"));
  }
  return ChildHandle{launch.id, started->pid, started->url, std::move(link).value()};
}

void StopChild(ChildHandle& child, Supervisor& supervisor, Deadline deadline) {
  bool asked = false;
  if (child.link) {
    Request bye;
    bye.target = child.id;
    bye.budget_ms = RemainingMs(deadline);
    bye.ops.push_back({"arbor.shutdown", {}});
    Result<Reply> r = child.link->Call(bye, deadline);
    asked = r.ok() && r->route.ok();
    if (!asked) spdlog::debug("shutdown of node {}: {}", child.id, r.status().ToString());
  }
  if (child.pid > 0) {
    using namespace std::chrono_literals;
    // A node that acknowledged exits right after its reply; one that did not (dead or hung)
    // gets SIGKILL at once, unless it is already gone: its pid may have been reused since.
    // Its own children then exit after their orphan grace.
    if (child.ours) {
      if (!supervisor.WaitExit(child.pid, asked ? 1000ms : 0ms)) {
        ::kill(child.pid, SIGKILL);
        supervisor.WaitExit(child.pid, 2000ms);
      }
    } else {
      supervisor.UnwatchForeign(child.pid);
      auto gone = [&] { return ::kill(child.pid, 0) != 0; };
      for (int i = 0; asked && i < 200 && !gone(); ++i) std::this_thread::sleep_for(5ms);
      if (!gone()) ::kill(child.pid, SIGKILL);
    }
  }
  if (child.link) child.link->Close();
  child.link.reset();
  child.pid = -1;
}

}  // namespace arbor
