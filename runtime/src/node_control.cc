// Node: the control verbs (control.h) and the lifecycle of the node's children: start, stop,
// restart in place by the deployment's policy, adoption and recovery after the node itself was
// restarted. Everything here runs on the control worker or the supervisor thread.
#include <signal.h>
#include <unistd.h>

#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "arbor/node_process.h"
#include "headroom.h"
#include "node.h"

namespace arbor {
namespace {

// A "launcher" for a node that is already running: the controller started it on its own ssh
// session and this parent only attaches it.
class Started final : public Launcher {
 public:
  explicit Started(LaunchedNode node) : node_(std::move(node)) {}
  Result<LaunchedNode> Launch(const NodeLaunch&) override { return node_; }

 private:
  LaunchedNode node_;
};

// A child that stays down is dialled no more: nng would retry its dead address forever (about
// 15 refused connects a second, each one spinning nng's poller thread). The slot and its link
// stay, so requests routed to it still answer "unavailable", tree and pingall still report it,
// and remove still finds it. Only adoption brings such a slot back, with a link of its own.
// The exit status of a node whose listener broke (CheckListener): EX_TEMPFAIL, "try again".
constexpr int kListenerLostExit = 75;

void LeaveDown(ChildTable::Slot& slot) {
  slot.state = ChildTable::State::kDown;
  if (slot.child && slot.child->link) slot.child->link->StopDialing();
}

}  // namespace

OpResult Node::RunControl(const Op& op, bool* exit_after) {
  auto arg = [&]() { return op.args.size() == 1 ? std::string_view(op.args[0]) : std::string_view(); };
  auto run = [&](auto decoded, auto&& fn) -> OpResult {
    if (!decoded.ok()) return {decoded.status(), {}};
    return fn(*decoded);
  };
  if (op.verb == kSpawnVerb) return run(DecodeSpawnArgs(arg()), [&](auto& a) { return Spawn(a); });
  if (op.verb == kRemoveVerb) return run(DecodeNodeId(arg()), [&](auto& id) { return Remove(id); });
  if (op.verb == kAdoptVerb) return run(DecodeAdoptArgs(arg()), [&](auto& a) { return Adopt(a); });
  if (op.verb == kAttachVerb) return run(DecodeAttachArgs(arg()), [&](auto& a) { return Attach(a); });
  if (op.verb == kIdentifyVerb) return {Status::Ok(), Encode(Self())};
  if (op.verb == kInfoVerb && op.args.empty()) return Info();
  if (op.verb == kInfoVerb && op.args.size() == 1 && op.args[0] == kInfoLimits) {
    return {Status::Ok(), HeadroomText()};
  }
  if (op.verb == kInfoVerb) return {InvalidArgument("arbor.info takes no argument or 'limits'"), {}};
  if (op.verb == kShutdownVerb) {
    StopChildren();
    *exit_after = true;
    return {};
  }
  return {UnknownVerb(fmt::format("node {} serves no verb '{}'", options_.id, op.verb)), {}};
}

OpResult Node::Spawn(const SpawnArgs& args) {
  NodeId child = args.id;
  if (child == options_.id) return {AlreadyExists("Already exists"), {}};
  int side = SideOf(child);
  std::optional<OpResult> early = children_->With([&](ChildTable::Slots& slots) -> std::optional<OpResult> {
    ChildTable::Slot& slot = slots[side];
    // The same id again, and up: an earlier spawn whose answer was lost (the request timed
    // out on the way back while this node was hung). Saying where it is lets the caller
    // finish that create instead of leaving a node nobody knows about.
    if (slot.child && !slot.busy && slot.child->id == child && slot.state == ChildTable::State::kUp) {
      return OpResult{Status::Ok(), Encode(SpawnedReply{slot.child->pid})};
    }
    if (slot.child || slot.busy) {
      return OpResult{AlreadyExists(fmt::format("node {} already has a child on the side of {}",
                                                options_.id, child)), {}};
    }
    slot.busy = true;
    return std::nullopt;
  });
  if (early) return *early;
  // A child the controller already started (args.url) is only dialled: StartChild is given
  // a launcher that reports it as started.
  bool started_elsewhere = !args.url.empty();
  Started elsewhere(LaunchedNode{static_cast<pid_t>(args.pid), -1, args.url});
  Result<ChildHandle> started =
      StartChild(started_elsewhere ? elsewhere : launcher_, LaunchFor(child, args.host), link_options_);
  return children_->WithSaved([&](ChildTable::Slots& slots) -> OpResult {
    ChildTable::Slot& slot = slots[side];
    slot.busy = false;
    if (!started.ok()) return {started.status(), {}};
    SpawnedReply reply{started->pid};
    slot.saved = ChildTable::SavedChild{child, args.host, started->pid};
    slot.child = std::move(started).value();
    slot.state = ChildTable::State::kUp;
    slot.restarts = 0;
    slot.budget.Reset();
    // A child the controller started is the controller's to watch and restart; this node
    // only routes to it, as to an adopted child.
    slot.adopted = started_elsewhere;
    ++slot.generation;
    return {Status::Ok(), Encode(reply)};
  });
}

NodeLaunch Node::LaunchFor(NodeId child, const std::string& host) const {
  NodeLaunch launch;
  launch.binary = options_.binary;
  launch.id = child;
  launch.session = options_.session;
  launch.host = host;
  launch.config_fd = options_.config_fd;
  launch.parent_id = options_.id;
  launch.parent_host = options_.host;
  launch.lifeline_fd = options_.lifeline_fd;
  launch.respawn = false;
  launch.start_timeout = std::chrono::milliseconds(config_.start_ms);
  return launch;
}

OpResult Node::Remove(NodeId child) {
  int side = SideOf(child);
  std::optional<ChildHandle> handle = children_->With([&](ChildTable::Slots& slots) {
    ChildTable::Slot& slot = slots[side];
    std::optional<ChildHandle> h;
    if (!slot.child || slot.child->id != child || slot.busy) return h;
    h = std::move(*slot.child);
    h->ours = !slot.adopted;
    slot.child.reset();
    slot.busy = true;
    ++slot.generation;
    return h;
  });
  if (!handle && ForgetRecovering(side, child)) return {};
  if (!handle) return {NotFound(fmt::format("node {} has no child {}", options_.id, child)), {}};
  StopChild(*handle, supervisor_, DeadlineIn(std::chrono::milliseconds(config_.request_ms)));
  children_->WithSaved([&](ChildTable::Slots& slots) {
    slots[side].busy = false;
    slots[side].saved.reset();  // the one change that takes a child off the list
  });
  return {};
}

// A removed child that is still being recovered: it leaves the list, so recovery stops, and an
// old process that still runs (paused, say) is killed; its own children exit after their grace.
bool Node::ForgetRecovering(int side, NodeId child) {
  std::optional<ChildTable::SavedChild> gone = children_->WithSaved([&](ChildTable::Slots& slots) {
    std::optional<ChildTable::SavedChild> out;
    ChildTable::Slot& slot = slots[side];
    if (slot.child || slot.busy || !slot.saved || slot.saved->id != child) return out;
    out = slot.saved;
    slot.saved.reset();
    return out;
  });
  if (!gone) return false;
  if (SameMachine(gone->host) && NodeProcessRuns(gone->pid, options_.session, gone->id)) ::kill(gone->pid, SIGKILL);
  return true;
}

void Node::StopChildren() {
  // The saved list stays: a node stopped at its orphan grace is started again from it.
  auto taken = children_->With([](ChildTable::Slots& slots) {
    std::array<std::optional<ChildHandle>, 2> out;
    for (int side = 0; side < 2; ++side) {
      ChildTable::Slot& slot = slots[side];
      out[side] = std::move(slot.child);
      if (out[side]) out[side]->ours = !slot.adopted;
      slot.child.reset();
      ++slot.generation;
    }
    return out;
  });
  // Both subtrees stop at once, so a whole tree stops in time proportional to its depth, not
  // its size, and a hung child on one side does not delay the other. When the host has no
  // thread to spare, they stop one after the other: slower, but a shutdown must never fail
  // for want of a thread.
  Deadline deadline = DeadlineIn(std::chrono::milliseconds(config_.request_ms));
  std::thread left;
  if (taken[0]) {
    Status s = StartThread(left, [&] { StopChild(*taken[0], supervisor_, deadline); });
    if (!s.ok()) {
      spdlog::warn("stopping the children one after the other: {}", s.message());
      StopChild(*taken[0], supervisor_, deadline);
      // The first may have used the whole deadline: the second gets one of its own.
      deadline = DeadlineIn(std::chrono::milliseconds(config_.request_ms));
    }
  }
  if (taken[1]) StopChild(*taken[1], supervisor_, deadline);
  if (left.joinable()) left.join();
}

OpResult Node::Info() {
  std::string side[2] = {"-", "-"};
  for (const ChildReport& c : children_->Report()) {
    side[SideOf(c.id)] = std::to_string(c.id);
  }
  std::string plugins;
  for (const auto& p : plugin_names_) plugins += (plugins.empty() ? "" : ",") + p;
  std::string text = fmt::format("pid={} left={} right={} plugins={}", getpid(), side[0], side[1],
                                 plugins.empty() ? "-" : plugins);
  if (!config_.hosts.empty()) text += " host=" + options_.host;
  return {Status::Ok(), std::move(text)};
}

Identity Node::Self() const { return Identity{options_.id, getpid(), options_.host, digest_}; }

// An external node's parent attaches it: the node learns its parent, and the parent learns
// that the node runs the same deployment, which it could not hand over itself.
OpResult Node::Attach(const AttachArgs& args) {
  if (args.digest != digest_) {
    return {FailedPrecondition(fmt::format(
                "node {} runs a different deployment (config digest {}, its parent's {}): "
                "give both the same file", options_.id, digest_, args.digest)), {}};
  }
  {
    std::lock_guard lock(parent_mu_);
    options_.parent_id = args.parent_id;
    options_.parent_host = args.parent_host;
  }
  attached_ = true;
  return {Status::Ok(), Encode(Self())};
}

std::pair<std::optional<NodeId>, std::string> Node::Parent() const {
  std::lock_guard lock(parent_mu_);
  return {options_.parent_id, options_.parent_host};
}

bool Node::SameMachine(const std::string& host) const {
  if (host == options_.host) return true;
  const HostSpec* a = config_.Host(host);
  const HostSpec* b = config_.Host(options_.host);
  return a && b && a->launch == HostSpec::Launch::kLocal && b->launch == HostSpec::Launch::kLocal;
}

// Runs on the supervisor thread for every child process that exited: a local node, or the ssh
// client of a remote one. An exit we caused (remove, shutdown) finds no slot: those children
// left their slots before being stopped.
void Node::OnChildExit(pid_t pid, int status) {
  children_->With([&](ChildTable::Slots& slots) {
    for (int side = 0; side < 2; ++side) {
      ChildTable::Slot& slot = slots[side];
      if (!slot.child || slot.child->local_pid != pid || slot.state != ChildTable::State::kUp) {
        continue;
      }
      NodeId id = slot.child->id;
      spdlog::warn("child {} (pid {}) died (wait status {})", id, slot.child->pid, status);
      if (RestartBudget::Enabled(config_) &&
          ControllerStarts(config_, options_.host, slot.child->host)) {
        // The controller starts it again, on its own ssh session; the new process then asks
        // this node to adopt it. Nothing to launch from here (the launcher would refuse).
        slot.state = ChildTable::State::kRestarting;
        return;
      }
      slot.adopted = false;
      if (!RestartBudget::Enabled(config_)) return LeaveDown(slot);
      if (!slot.budget.Take()) {
        spdlog::error("child {} restarted {} times within {} ms; leaving it down", id,
                      slot.budget.used(), config_.restart_window_ms);
        return LeaveDown(slot);
      }
      slot.state = ChildTable::State::kRestarting;
      // Cannot fail: Start() reserved the control worker's thread.
      (void)control_worker_.Post([this, side, gen = slot.generation] { Respawn(side, gen); });
      return;
    }
  });
}

// Starts the dead child again in place: same id, same host, same endpoint. The link to it is
// kept, so it reconnects by itself (a slot being restarted was never left down, so its link
// still dials; Redial() makes sure); the respawned node's own children come back by asking to
// be adopted.
void Node::Respawn(int side, std::uint64_t generation) {
  std::optional<std::pair<NodeId, std::string>> who = children_->With([&](ChildTable::Slots& slots) {
    std::optional<std::pair<NodeId, std::string>> w;
    const ChildTable::Slot& slot = slots[side];
    if (slot.child && slot.generation == generation) w.emplace(slot.child->id, slot.child->host);
    return w;  // nothing: removed meanwhile
  });
  if (!who) return;
  NodeLaunch launch = LaunchFor(who->first, who->second);
  launch.respawn = true;
  Result<LaunchedNode> started = launcher_.Launch(launch);
  std::shared_ptr<NodeLink> restart;  // dialled anew once the table's lock is released
  children_->WithSaved([&](ChildTable::Slots& slots) {
    ChildTable::Slot& slot = slots[side];
    if (!slot.child || slot.generation != generation) {
      if (started.ok() && started->local_pid > 0) ::kill(started->local_pid, SIGKILL);
      return;
    }
    if (!started.ok()) {
      // Killed while starting, say: that counts as another restart, within the same limit.
      spdlog::error("respawn of child {} failed: {}", who->first, started.status().ToString());
      if (!slot.budget.Take()) return LeaveDown(slot);
      (void)control_worker_.Post([this, side, generation] {  // reserved: cannot fail
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        Respawn(side, generation);
      });
      return;
    }
    slot.child->pid = started->pid;
    slot.child->local_pid = started->local_pid;
    slot.saved = ChildTable::SavedChild{who->first, who->second, started->pid};
    restart = slot.child->link;
    slot.state = ChildTable::State::kUp;
    ++slot.restarts;
    spdlog::warn("child {} respawned as pid {} (restart {})", who->first, started->pid,
                 slot.restarts);
  });
  if (Status s = restart ? restart->Restart() : Status::Ok(); !s.ok()) {
    spdlog::error("cannot dial respawned child {}: {}", who->first, s.ToString());
  }
}

// A node whose parent died asks its respawned parent (this node) to take it back. It is not
// our process: one on this machine is watched by polling its pid, one on another host only
// through its connection.
OpResult Node::Adopt(const AdoptArgs& a) {
  if (a.id == options_.id || a.pid <= 0) return {InvalidArgument("bad adoption request"), {}};
  int side = SideOf(a.id);
  std::optional<OpResult> early = children_->With([&](ChildTable::Slots& slots) -> std::optional<OpResult> {
    ChildTable::Slot& slot = slots[side];
    if (slot.busy) return OpResult{FailedPrecondition("busy"), {}};
    // The same process, connected: nothing to do. A new process of the same id (restarted by
    // the controller, say) is dialled anew: the link may still hold a connection to the old
    // one that nobody has found dead yet (it died behind a partition).
    bool same = slot.child && slot.child->id == a.id && slot.child->pid == static_cast<pid_t>(a.pid);
    if (same && slot.child->link->connected()) return OpResult{};
    if (slot.child && slot.child->id != a.id && slot.state == ChildTable::State::kUp &&
        slot.child->link->connected()) {
      return OpResult{AlreadyExists(fmt::format("node {} already has a child on that side",
                                                options_.id)), {}};
    }
    slot.busy = true;
    return std::nullopt;
  });
  if (early) return *early;
  pid_t local = SameMachine(a.host) ? static_cast<pid_t>(a.pid) : -1;
  ChildHandle handle{a.id, static_cast<pid_t>(a.pid), local, a.url, nullptr, a.host, false};
  Result<std::unique_ptr<NodeLink>> link = NodeLink::Dial(handle.url, link_options_);
  bool up = link.ok() && (*link)->WaitConnected(DeadlineIn(std::chrono::milliseconds(1000)));
  // The handle this one replaces is closed only after the table's lock is released: closing a
  // link waits for its callbacks, and nng runs them on the threads that route requests, which
  // take that lock (RouteTo). Closing it under the lock deadlocked a node in the lab.
  std::optional<ChildHandle> replaced;
  OpResult result = children_->WithSaved([&](ChildTable::Slots& slots) -> OpResult {
    ChildTable::Slot& slot = slots[side];
    slot.busy = false;
    if (!up) return {Unavailable(fmt::format("cannot reach node {} to adopt it", a.id)), {}};
    replaced = std::move(slot.child);
    handle.link = std::move(link).value();
    slot.saved = ChildTable::SavedChild{a.id, a.host, static_cast<pid_t>(a.pid)};
    slot.child = std::move(handle);
    slot.state = ChildTable::State::kUp;
    slot.adopted = true;
    ++slot.generation;
    if (local > 0) supervisor_.WatchForeign(local);
    spdlog::info("adopted child {} (pid {})", a.id, a.pid);
    return {};
  });
  if (replaced && replaced->link) replaced->link->Close();
  return result;
}

void Node::OnTick(bool cut_off) {
  // Only a node that will be started again has any use for the check (see CheckListener). A
  // node that needs new connections (its parent's, or a restarted child asking to be adopted)
  // checks often; any other, now and then.
  if (RestartBudget::Enabled(config_) && !options_.external) {
    bool waiting = cut_off || children_->With([](ChildTable::Slots& slots) {
      for (const ChildTable::Slot& slot : slots) {
        // A child left down will not come back: nothing to wait for.
        bool gone = !slot.child || !slot.child->link || !slot.child->link->connected();
        if (slot.saved && slot.state != ChildTable::State::kDown && gone) return true;
      }
      return false;
    });
    CheckListener(waiting ? std::chrono::milliseconds(500) : std::chrono::milliseconds(10000));
  }
  if (cut_off) return AskForAdoption();
  // Back in the tree: drop the link to the parent's endpoint, which would otherwise count as
  // an upstream connection and hide a later cut-off. Closed on a thread of its own: nng_close
  // of a tls+tcp link was seen to hang, and this thread must go on watching the lifeline. No
  // call is in flight on it (adopt_in_flight_), so nothing calls back into this node.
  if (adopt_link_ && !adopt_in_flight_) {
    std::thread closer;
    auto close = [link = std::move(adopt_link_)]() mutable { link.reset(); };
    // No thread to spare (rare): the failed start has closed it here, as before.
    if (StartThread(closer, std::move(close)).ok()) closer.detach();
  }
}

// A node checks that it can still be reached (Server::CheckListener: nng 1.5.2 can stop
// accepting for good), on a thread of its own, every `every`. One found broken three times in
// a row exits at once, leaving its children running: its parent starts it again (its
// own child, or one it watches while recovering it), and the new process takes the children
// back and loads the data. Waiting would only lead to the same exit at the orphan grace, with
// the whole subtree stopped (3 s by default). Three times, and only on a probe that did
// connect, so that a loaded machine, slow to hand one probe to the socket, does not end a
// healthy node (which, without durable data, would lose it).
void Node::CheckListener(std::chrono::milliseconds every) {
  auto now = Clock::now();
  if (listener_check_running_ || now - listener_checked_ < every) return;
  listener_checked_ = now;
  if (listener_check_.joinable()) listener_check_.join();
  listener_check_running_ = true;
  Status started = StartThread(listener_check_, [this] {
    Server::ListenerState state = server_->CheckListener(
        std::chrono::seconds(5), std::chrono::milliseconds(500), closing_);
    listener_broken_ = state == Server::ListenerState::kBroken ? listener_broken_ + 1 : 0;
    if (listener_broken_ >= 3 && !closing_) {
      spdlog::error("node {}: its listener accepts no connection any more (nng 1.5.2, "
                    "nanomsg/nng#1518); exiting for its parent to start it again",
                    options_.id);
      spdlog::default_logger()->flush();
      std::_Exit(kListenerLostExit);
    }
    listener_check_running_ = false;
  });
  if (!started.ok()) listener_check_running_ = false;  // no thread to spare: next tick
}

// Cut off from the parent (it died): ask its endpoint, where a respawned parent will listen,
// to adopt this node. Harmless while nobody listens there; stops when the parent dials back.
// An external node does not ask: its supervisor restarts it, and it waits to be attached.
void Node::AskForAdoption() {
  auto [parent_id, parent_host] = Parent();
  if (!parent_id || adopt_in_flight_ || options_.external || !RestartBudget::Enabled(config_)) {
    return;
  }
  if (!adopt_link_) {
    auto link = NodeLink::Dial(config_.EndpointFor(options_.session, *parent_id, parent_host),
                               link_options_);
    if (!link.ok()) return;
    adopt_link_ = std::move(link).value();
  }
  if (!adopt_link_->connected()) return;
  Request q;
  q.target = *parent_id;
  q.budget_ms = 500;
  q.ops.push_back({std::string(kAdoptVerb),
                   {Encode(AdoptArgs{options_.id, url(), getpid(), options_.host})}});
  adopt_in_flight_ = true;
  adopt_link_->CallAsync(q, DeadlineIn(std::chrono::milliseconds(500)),
                         [this](nng_msg* reply, Status) {
    if (reply != nullptr) nng_msg_free(reply);
    adopt_in_flight_ = false;
  });
}

std::string Node::ChildrenFile() const {
  if (!RestartBudget::Enabled(config_) || data_dir_.empty()) return "";
  return data_dir_ + "/children";
}

// A respawned node takes back the children its previous process had (ChildTable's saved list):
// each one that still runs is dialled at its endpoint and watched, since it is no longer our
// process; one that is gone is started again and loads its own data. A child whose old
// process still runs but does not answer (paused) is waited for, never doubled: a second
// process could not listen on its address anyway, and the first would come back to a parent
// that no longer knows it. Attempts go on, further and further apart, until the child is back,
// adopted or removed: a durable subtree always comes back once its parent is up.
void Node::RecoverChildren() {
  std::vector<ChildTable::SavedChild> saved = children_->Saved();
  children_->WithSaved([&](ChildTable::Slots& slots) {
    for (const ChildTable::SavedChild& c : saved) {
      if (c.id != options_.id && !slots[SideOf(c.id)].saved) slots[SideOf(c.id)].saved = c;
    }
  });
  for (int side = 0; side < 2; ++side) RecoverChild(side, 0);
}

std::optional<ChildHandle> Node::Reclaim(const ChildTable::SavedChild& c) {
  auto link = NodeLink::Dial(config_.EndpointFor(options_.session, c.id, c.host), link_options_);
  if (!link.ok() || !(*link)->WaitConnected(DeadlineIn(std::chrono::milliseconds(300)))) {
    return std::nullopt;
  }
  Request q;
  q.target = c.id;
  q.budget_ms = 1000;
  q.ops.push_back({std::string(kIdentifyVerb), {}});
  Result<Reply> r = (*link)->Call(q, DeadlineIn(std::chrono::milliseconds(1000)));
  Result<Identity> who = r.ok() && r->route.ok() && r->results.size() == 1 && r->results[0].status.ok()
                             ? DecodeIdentity(r->results[0].text)
                             : Result<Identity>(Unavailable("no answer"));
  if (!who.ok() || who->id != c.id) return std::nullopt;
  pid_t local = SameMachine(c.host) ? static_cast<pid_t>(who->pid) : -1;
  return ChildHandle{c.id, static_cast<pid_t>(who->pid), local, (*link)->url(),
                     std::move(link).value(), c.host, false};
}

void Node::RecoverChild(int side, int attempt) {
  if (closing_) return;
  auto saved = children_->With([&](ChildTable::Slots& slots) {
    std::optional<ChildTable::SavedChild> out;
    ChildTable::Slot& slot = slots[side];
    if (!slot.saved || slot.child || slot.busy) return out;  // back, adopted, or being changed
    slot.busy = true;
    out = slot.saved;
    return out;
  });
  if (!saved) return;
  std::optional<ChildHandle> handle = Reclaim(*saved);
  bool ours = false;
  std::string why;
  if (!handle && SameMachine(saved->host) && NodeProcessRuns(saved->pid, options_.session, saved->id)) {
    why = fmt::format("its process {} runs but does not answer", saved->pid);
  } else if (!handle && ControllerStarts(config_, options_.host, saved->host)) {
    // The controller restarts it; once up, it asks this node to adopt it.
    why = "it is the controller's to start, and does not answer yet";
  } else if (!handle) {
    NodeLaunch launch = LaunchFor(saved->id, saved->host);
    launch.respawn = true;
    Result<ChildHandle> started = StartChild(launcher_, launch, link_options_);
    if (started.ok()) {
      handle = std::move(started).value();
      ours = true;
    } else {
      why = started.status().message();
    }
  }
  bool again = children_->WithSaved([&](ChildTable::Slots& slots) {
    ChildTable::Slot& slot = slots[side];
    slot.busy = false;
    if (!slot.saved || slot.saved->id != saved->id || slot.child) {  // removed or adopted meanwhile
      if (ours && handle->local_pid > 0) ::kill(handle->local_pid, SIGKILL);
      return false;
    }
    if (!handle) return true;
    if (!ours && handle->local_pid > 0) supervisor_.WatchForeign(handle->local_pid);
    slot.saved->pid = handle->pid;
    slot.child = std::move(handle);
    slot.state = ChildTable::State::kUp;
    slot.adopted = !ours;
    ++slot.generation;
    spdlog::warn("recovered child {} ({})", saved->id, ours ? "restarted" : "still running");
    return false;
  });
  if (!again || closing_) return;
  // Said once, then every 30 attempts (about half a minute): enough to see why in the log.
  if (attempt % 30 == 0) spdlog::warn("child {} not recovered yet: {}; trying again", saved->id, why);
  auto delay = std::min(std::chrono::milliseconds(50) * (1 << std::min(attempt, 5)),
                        std::chrono::milliseconds(1000));
  Status armed = timers_.After(Clock::now() + delay, [this, side, attempt] {
    if (!closing_) (void)control_worker_.Post([this, side, attempt] { RecoverChild(side, attempt + 1); });
  });
  if (!armed.ok()) spdlog::error("child {} will not be recovered: {}", saved->id, armed.message());
}

}  // namespace arbor
