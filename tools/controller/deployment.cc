#include "deployment.h"

#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <algorithm>
#include <functional>
#include <random>
#include <signal.h>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "arbor/config_handoff.h"

namespace arbor::controller {
namespace {

std::string NewSession() {
  std::random_device rd;
  return fmt::format("{}-{:08x}", getpid(), rd());
}

// Only for control operations, which may stop whole subtrees (each level up to one deadline).
std::chrono::milliseconds ControlBudget(const Config& c) {
  return std::chrono::milliseconds(3 * c.request_ms + 2000);
}

// A create must reach the parent (one command's deadline) and start a process there.
std::chrono::milliseconds CreateBudget(const Config& c) {
  return std::chrono::milliseconds(c.request_ms + c.start_ms);
}

}  // namespace

Deployment::Deployment(Config config, std::string node_binary)
    : config_(std::move(config)),
      node_binary_(std::move(node_binary)),
      session_(NewSession()),
      link_options_{config_.max_message_bytes, config_.reconnect_min_ms, config_.reconnect_max_ms,
                    config_.tls},
      launcher_(MakeHostLauncher(config_, /*self_host=*/"")),
      supervisor_(Supervisor::Options{}),
      root_budget_(config_) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) == 0) {
    lifeline_read_ = fds[0];
    lifeline_write_ = fds[1];  // never written; its closing is the message
  }
  // Without it every node would run on built-in defaults; Create() refuses to start any.
  if (Result<int> fd = ConfigToFd(config_); fd.ok()) {
    config_fd_ = *fd;
  } else {
    spdlog::error("{}", fd.status().message());
  }
  supervisor_.OnChildExit([this](pid_t pid, int) { OnRootExit(pid); });
  supervisor_thread_ = std::thread([this] { supervisor_.Run(); });
}

Deployment::~Deployment() {
  Shutdown();
  supervisor_.Stop();
  supervisor_thread_.join();
  if (config_fd_ >= 0) close(config_fd_);
}

void Deployment::Shutdown() {
  std::optional<ChildHandle> root;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    root = std::move(root_);
    root_.reset();
  }
  if (root) StopChild(*root, supervisor_, DeadlineIn(std::chrono::milliseconds(config_.request_ms)));
  // Anything still alive (a subtree cut off under a dead node) sees EOF now and exits.
  if (lifeline_write_ >= 0) close(lifeline_write_);
  if (lifeline_read_ >= 0) close(lifeline_read_);
  lifeline_write_ = lifeline_read_ = -1;
}

bool Deployment::Contains(NodeId id) const {
  std::lock_guard lock(mu_);
  return model_.Contains(id);
}

std::vector<std::optional<TreeModel::Slot>> Deployment::SlotsFor(
    const std::vector<NodeId>& ids) const {
  std::vector<std::optional<TreeModel::Slot>> out;
  out.reserve(ids.size());
  std::lock_guard lock(mu_);
  for (NodeId id : ids) out.push_back(model_.SlotFor(id));
  return out;
}

std::vector<NodeId> Deployment::Ids() const {
  std::lock_guard lock(mu_);
  return model_.Ids();
}

std::optional<pid_t> Deployment::PidOf(NodeId id) const {
  std::lock_guard lock(mu_);
  const TreeModel::Entry* e = model_.Find(id);
  return e ? std::optional<pid_t>(e->pid) : std::nullopt;
}

std::shared_ptr<NodeLink> Deployment::root_link() const {
  std::lock_guard lock(mu_);
  return root_ ? root_->link : nullptr;
}

Result<pid_t> Deployment::Create(NodeId id) {
  std::optional<NodeId> parent;
  std::string host;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return FailedPrecondition("the deployment is shutting down");
    if (config_fd_ < 0) return FailedPrecondition("the config could not be handed to nodes");
    if (model_.Contains(id)) return AlreadyExists("Already exists");
    parent = model_.InsertionParent(id);
    host = PlaceNode(id, parent);
  }
  pid_t pid = -1;
  if (!parent) {
    Result<ChildHandle> root = StartChild(*launcher_, RootLaunch(id, host), link_options_);
    // A failed start is the node's fault, not an unreachable parent's.
    if (!root.ok()) return FailedPrecondition(root.status().message());
    pid = root->pid;
    std::lock_guard lock(mu_);
    root_ = std::move(root).value();
    root_state_ = "up";
    root_restarts_ = 0;
    root_budget_.Reset();
  } else {
    Result<Reply> r = SendAndWait(*parent, {{std::string(kSpawnVerb), {Encode(SpawnArgs{id, host})}}},
                                  DeadlineIn(CreateBudget(config_)));
    if (!r.ok()) return r.status();
    if (!r->route.ok()) return r->route;
    const OpResult& op = r->results.at(0);
    if (op.status.code() == Code::kAlreadyExists) return op.status;
    if (!op.status.ok()) return FailedPrecondition(op.status.message());
    Result<SpawnedReply> spawned = DecodeSpawnedReply(op.text);
    if (!spawned.ok()) return spawned.status();
    pid = static_cast<pid_t>(spawned->pid);
    host = spawned->host;
  }
  std::lock_guard lock(mu_);
  model_.Insert(id, pid, host);
  return pid;
}

// mu_ held. A node listed under `nodes:` with a host goes there; otherwise the placement rule
// decides: the parent's host (the root: the first host), the next host in turn, or one host.
std::string Deployment::PlaceNode(NodeId id, std::optional<NodeId> parent) {
  if (config_.hosts.empty()) return "";
  if (std::string named = config_.HostOf(id); !named.empty()) return named;
  switch (config_.placement) {
    case Config::Placement::kHost:
      return config_.placement_host;
    case Config::Placement::kRoundRobin:
      return config_.hosts[next_host_++ % config_.hosts.size()].name;
    case Config::Placement::kParent:
      break;
  }
  const TreeModel::Entry* p = parent ? model_.Find(*parent) : nullptr;
  return p && !p->host.empty() ? p->host : config_.hosts.front().name;
}

Status Deployment::Remove(NodeId id) {
  std::optional<NodeId> parent;
  {
    std::lock_guard lock(mu_);
    const TreeModel::Entry* e = model_.Find(id);
    if (e == nullptr) return NotFound("Not found");
    parent = e->parent;
  }
  if (!parent) {
    std::optional<ChildHandle> root;
    {
      std::lock_guard lock(mu_);
      root = std::move(root_);
      root_.reset();
    }
    if (root) StopChild(*root, supervisor_, DeadlineIn(std::chrono::milliseconds(config_.request_ms)));
  } else {
    Result<Reply> r = SendAndWait(*parent, {{std::string(kRemoveVerb), {EncodeNodeId(id)}}},
                                  DeadlineIn(ControlBudget(config_)));
    if (!r.ok()) return r.status();
    if (!r->route.ok()) return r->route;
    const OpResult& op = r->results.at(0);
    // NotFound from the parent means it never had this child: the picture was stale, and
    // dropping the id from it is the repair.
    if (!op.status.ok() && op.status.code() != Code::kNotFound) return op.status;
  }
  std::lock_guard lock(mu_);
  model_.RemoveSubtree(id);
  return Status::Ok();
}

NodeLaunch Deployment::RootLaunch(NodeId id, const std::string& host) const {
  NodeLaunch launch;
  launch.binary = node_binary_;
  launch.id = id;
  launch.host = host;
  launch.session = session_;
  launch.config_fd = config_fd_;
  launch.lifeline_fd = lifeline_read_;
  launch.new_process_group = true;
  launch.start_timeout = std::chrono::milliseconds(config_.start_ms);
  return launch;
}

// The controller is the root's parent, so it applies the same restart policy as a node does
// to its children. The root's children ask to be adopted by the new root by themselves.
void Deployment::OnRootExit(pid_t pid) {
  std::lock_guard lock(mu_);
  if (!root_ || root_->local_pid != pid || shut_down_) return;
  if (!RestartBudget::Enabled(config_) || !root_budget_.Take()) {
    root_state_ = "down";
    return;
  }
  root_state_ = "restarting";
  NodeLaunch launch = RootLaunch(root_->id, root_->host);
  launch.respawn = true;
  respawner_.Post([this, launch, pid] {
    Result<LaunchedNode> started = launcher_->Launch(launch);
    std::lock_guard lock(mu_);
    if (!root_ || root_->local_pid != pid || shut_down_) {
      if (started.ok() && started->local_pid > 0) ::kill(started->local_pid, SIGKILL);
      return;
    }
    if (!started.ok()) {
      root_state_ = "down";
      return;
    }
    root_->pid = started->pid;  // the link keeps its address and reconnects by itself
    root_->local_pid = started->local_pid;
    root_state_ = "up";
    ++root_restarts_;
  });
}

Deployment::Swept Deployment::Sweep() {
  Swept out;
  std::optional<NodeId> root;
  {
    std::lock_guard lock(mu_);
    root = model_.root();
  }
  if (!root) return out;
  // The tree gets request_ms; the controller waits a little longer, so that a hung subtree is
  // reported missing by its parent rather than turning the whole sweep into a timeout.
  Request q;
  q.id = next_request_id_++;
  q.target = *root;
  q.budget_ms = static_cast<std::uint32_t>(config_.request_ms);
  q.ops.push_back({std::string(kSweepVerb), {}});
  std::shared_ptr<NodeLink> link = root_link();
  if (!link) return out;
  Result<Reply> r = link->Call(q, DeadlineIn(std::chrono::milliseconds(config_.request_ms + 250)));
  if (!r.ok() || !r->route.ok() || r->results.size() != 1 || !r->results[0].status.ok()) return out;
  Result<std::vector<SweepEntry>> entries = DecodeSweep(r->results[0].text);
  if (!entries.ok()) {
    spdlog::error("sweep: {}", entries.status().message());
    return out;
  }
  for (SweepEntry& e : *entries) {
    for (const ChildReport& c : e.children) out.child_report[c.id] = c;
    out.order.push_back(e.id);
    out.reached[e.id] = std::move(e);
  }
  Reconcile(out);
  return out;
}

// A create can time out at the controller while the hung parent still holds the request; when
// the parent wakes, it starts the node, and the answer is lost. A sweep finds such nodes (each
// line comes after its parent's, so BST insertion puts each one under the parent it has).
void Deployment::Reconcile(const Swept& swept) {
  std::lock_guard lock(mu_);
  for (NodeId id : swept.order) {
    if (model_.Contains(id) || model_.empty()) continue;
    spdlog::warn("node {} runs in the tree but its create was reported failed; it is kept", id);
    const SweepEntry& e = swept.reached.at(id);
    model_.Insert(id, static_cast<pid_t>(e.pid), e.host);
  }
}

std::vector<NodeId> Deployment::Unreachable() {
  Swept swept = Sweep();
  std::vector<NodeId> down;
  for (NodeId id : Ids()) {
    if (!swept.reached.count(id)) down.push_back(id);
  }
  return down;
}

std::vector<std::string> Deployment::Tree() {
  Swept swept = Sweep();
  std::vector<std::string> lines;
  std::lock_guard lock(mu_);
  if (!model_.root()) return {"(empty tree)"};
  std::function<void(NodeId, int)> walk = [&](NodeId id, int depth) {
    const TreeModel::Entry* e = model_.Find(id);
    std::string state = "unreachable";
    std::int64_t restarts = 0;
    std::int64_t pid = e->pid;
    std::string host = e->host;
    if (auto it = swept.child_report.find(id); it != swept.child_report.end()) {
      state = it->second.state;
      restarts = it->second.restarts;
      pid = it->second.pid;
    } else if (!e->parent) {
      state = root_state_;
      restarts = root_restarts_;
      if (root_) pid = root_->pid;
    }
    if (auto it = swept.reached.find(id); it != swept.reached.end()) {
      state = "up";
      pid = it->second.pid;
      host = it->second.host;
    }
    std::string line = fmt::format("{:{}}{} {} pid={} restarts={}", "", 2 * depth, id, state,
                                   pid, restarts);
    if (!config_.hosts.empty()) line += " host=" + host;
    lines.push_back(std::move(line));
    if (e->left) walk(*e->left, depth + 1);
    if (e->right) walk(*e->right, depth + 1);
  };
  walk(*model_.root(), 0);
  return lines;
}

void Deployment::Send(NodeId target, std::vector<Op> ops, Done done) {
  std::shared_ptr<NodeLink> link = root_link();
  if (!link) return done(Unavailable("the tree has no root"));
  Request q;
  q.id = next_request_id_++;
  q.target = target;
  q.budget_ms = static_cast<std::uint32_t>(config_.request_ms);
  q.ops = std::move(ops);
  if (Status s = CheckRequestLimits(q); !s.ok()) return done(std::move(s));
  // A little longer than the budget, so a hop inside the tree reports a hung node before the
  // controller's own timer fires.
  Deadline deadline = DeadlineIn(std::chrono::milliseconds(config_.request_ms + 50));
  link->CallAsync(q, deadline, [done = std::move(done)](nng_msg* reply, Status status) {
    if (reply == nullptr) return done(std::move(status));
    Result<Reply> r = DecodeReply({static_cast<const std::uint8_t*>(nng_msg_body(reply)),
                                   nng_msg_len(reply)});
    nng_msg_free(reply);
    done(std::move(r));
  });
}

Result<Reply> Deployment::SendAndWait(NodeId target, std::vector<Op> ops, Deadline deadline) {
  std::shared_ptr<NodeLink> link = root_link();
  if (!link) return Unavailable("the tree has no root");
  Request q;
  q.id = next_request_id_++;
  q.target = target;
  q.budget_ms = RemainingMs(deadline);
  q.ops = std::move(ops);
  return link->Call(q, deadline);
}

}  // namespace arbor::controller
