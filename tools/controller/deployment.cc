#include "deployment.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <signal.h>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "arbor/node_process.h"
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
      launcher_(MakeHostLauncher(config_, /*self_host=*/"", LocalLauncher(),
                                 MakeSshLauncher(config_))),
      supervisor_(Supervisor::Options{}) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) == 0) {
    lifeline_read_ = fds[0];
    lifeline_write_ = fds[1];  // never written; its closing is the message
  } else {
    // Without it, nodes would outlive a controller that is killed.
    failure_ = std::string("cannot make the lifeline pipe: ") + std::strerror(errno);
  }
  // Without it every node would run on built-in defaults; Create() refuses to start any.
  if (Result<int> fd = ConfigToFd(config_); fd.ok()) {
    config_fd_ = *fd;
  } else {
    spdlog::error("{}", fd.status().message());
  }
  // Nodes cut off under a dead parent are reparented to this process instead of to PID 1, so
  // their exits are reaped at once (the supervisor reaps every child) and Shutdown can wait for
  // them. Under an init that reaps lazily, such as a container's, they stayed zombies for
  // seconds after arbor exited.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    spdlog::warn("cannot become the subreaper of the tree: {}", std::strerror(errno));
  }
  supervisor_.OnChildExit([this](pid_t pid, int) { OnStartedExit(pid); });
  if (failure_.empty()) failure_ = supervisor_.failure();
  if (failure_.empty()) {
    Status s = StartThread(supervisor_thread_, [this] { supervisor_.Run(); });
    if (!s.ok()) failure_ = s.message();
  }
  // Restarting the root must not depend on a thread being free when it dies.
  if (Status s = respawner_.Reserve(1); !s.ok() && failure_.empty()) failure_ = s.message();
}

Deployment::~Deployment() {
  Shutdown();
  supervisor_.Stop();
  if (supervisor_thread_.joinable()) supervisor_thread_.join();
  if (config_fd_ >= 0) close(config_fd_);
}

void Deployment::Shutdown() {
  std::optional<ChildHandle> root;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    root = TakeRoot();
    for (auto& [id, s] : started_) s.stopping = true;
  }
  if (root) StopChild(*root, supervisor_, DeadlineIn(std::chrono::milliseconds(config_.request_ms)));
  // Anything still alive (a subtree cut off under a dead node) sees EOF now and exits.
  if (lifeline_write_ >= 0) close(lifeline_write_);
  if (lifeline_read_ >= 0) close(lifeline_read_);
  lifeline_write_ = lifeline_read_ = -1;
  WaitForOrphans(std::chrono::seconds(2));
}

// Waits until this process has no child left, orphans reparented to it included: they exit at
// the lifeline's EOF, within milliseconds, and the supervisor thread reaps them. Bounded, since
// a node that is stopped (SIGSTOP) cannot exit.
void Deployment::WaitForOrphans(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    siginfo_t info{};
    // WNOWAIT: only look; the supervisor thread does the reaping.
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      spdlog::warn("some nodes had not exited {} ms after the shutdown", limit.count());
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
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
  std::string host, parent_host;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return FailedPrecondition("the deployment is shutting down");
    if (config_fd_ < 0) return FailedPrecondition("the config could not be handed to nodes");
    if (model_.Contains(id)) return AlreadyExists("Already exists");
    // Creates run in parallel, so the ones still starting count too: no window of concurrent
    // creates can pass the bound together.
    if (model_.size() + creating_ >= config_.max_nodes) {
      return FailedPrecondition(fmt::format("the tree already has max_nodes ({}) nodes; remove "
                                            "some, or raise max_nodes in the config",
                                            config_.max_nodes));
    }
    ++creating_;
    parent = model_.InsertionParent(id);
    host = PlaceNode(id, parent);
    if (parent) parent_host = model_.Find(*parent)->host;
  }
  Result<pid_t> pid = StartNode(id, parent, host, parent_host);
  std::lock_guard lock(mu_);
  --creating_;
  if (pid.ok()) model_.Insert(id, *pid, host);
  return pid;
}

Result<pid_t> Deployment::StartNode(NodeId id, std::optional<NodeId> parent,
                                    const std::string& host, const std::string& parent_host) {
  pid_t pid = -1;
  if (!parent) {
    NodeLaunch launch = LaunchFor(id, host);
    Result<ChildHandle> root = StartChild(*launcher_, launch, link_options_);
    // A failed start is the node's fault, not an unreachable parent's.
    if (!root.ok()) return FailedPrecondition(root.status().message());
    pid = root->pid;
    std::lock_guard lock(mu_);
    Started& s = started_[id];
    s = Started{launch, root->pid, root->local_pid, "up", 0, RestartBudget(config_), false};
    root_ = std::move(root).value();
  } else if (ControllerStarts(config_, parent_host, host)) {
    Result<pid_t> started = CreateStarted(id, *parent, parent_host, host);
    if (!started.ok()) return started.status();
    pid = *started;
  } else {
    Result<SpawnedReply> spawned = AskParentToSpawn(*parent, SpawnArgs{id, host, {}, 0});
    if (!spawned.ok()) return spawned.status();
    pid = static_cast<pid_t>(spawned->pid);
  }
  return pid;
}

Result<pid_t> Deployment::CreateStarted(NodeId id, NodeId parent, const std::string& parent_host,
                                        const std::string& host) {
  NodeLaunch launch = LaunchFor(id, host);
  launch.parent_id = parent;
  launch.parent_host = parent_host;
  Result<LaunchedNode> node = launcher_->Launch(launch);
  if (!node.ok()) return FailedPrecondition(node.status().message());
  {
    std::lock_guard lock(mu_);
    started_[id] = Started{launch, node->pid, node->local_pid, "up", 0, RestartBudget(config_), true};
  }
  Status why = AskParentToSpawn(parent, SpawnArgs{id, host, node->url, node->pid}).status();
  std::lock_guard lock(mu_);
  auto it = started_.find(id);
  bool ours = it != started_.end() && it->second.local_pid == node->local_pid;
  if (!why.ok()) {
    // Nothing is left half-created: the node goes, and its session with it.
    if (node->local_pid > 0) ::kill(node->local_pid, SIGKILL);
    if (ours) started_.erase(it);
    return why;
  }
  if (ours) it->second.stopping = false;
  return static_cast<pid_t>(node->pid);
}

// The parent unreachable is the route's failure ("Parent is unavailable"); the parent's refusal
// of this child (it failed to start, a bad certificate) is the child's, with its own message.
Result<SpawnedReply> Deployment::AskParentToSpawn(NodeId parent, const SpawnArgs& args) {
  Result<Reply> r = SendAndWait(parent, {{std::string(kSpawnVerb), {Encode(args)}}},
                                DeadlineIn(CreateBudget(config_)));
  if (!r.ok()) return r.status();
  if (!r->route.ok()) return r->route;
  const OpResult& op = r->results.at(0);
  if (op.status.code() == Code::kAlreadyExists) return op.status;
  if (!op.status.ok()) return FailedPrecondition(op.status.message());
  return DecodeSpawnedReply(op.text);
}

// mu_ held. The root's handle, with the pids of its current process (a respawn changes them in
// started_ only), moved out of the deployment.
std::optional<ChildHandle> Deployment::TakeRoot() {
  std::optional<ChildHandle> root = std::move(root_);
  root_.reset();
  if (!root) return root;
  if (auto it = started_.find(root->id); it != started_.end()) {
    root->pid = it->second.pid;
    root->local_pid = it->second.local_pid;
  }
  return root;
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
  std::vector<NodeId> subtree;
  {
    std::lock_guard lock(mu_);
    const TreeModel::Entry* e = model_.Find(id);
    if (e == nullptr) return NotFound("Not found");
    parent = e->parent;
    subtree = model_.Subtree(id);
    for (NodeId n : subtree) {
      if (auto it = started_.find(n); it != started_.end()) it->second.stopping = true;
    }
  }
  if (!parent) {
    std::optional<ChildHandle> root;
    {
      std::lock_guard lock(mu_);
      root = TakeRoot();
    }
    if (root) StopChild(*root, supervisor_, DeadlineIn(std::chrono::milliseconds(config_.request_ms)));
  } else {
    Result<Reply> r = SendAndWait(*parent, {{std::string(kRemoveVerb), {EncodeNodeId(id)}}},
                                  DeadlineIn(ControlBudget(config_)));
    Status why = !r.ok() ? r.status() : !r->route.ok() ? r->route : r->results.at(0).status;
    // NotFound from the parent means it never had this child: the picture was stale, and
    // dropping the id from it is the repair.
    if (!why.ok() && why.code() != Code::kNotFound) {
      std::lock_guard lock(mu_);
      for (NodeId n : subtree) {
        if (auto it = started_.find(n); it != started_.end()) it->second.stopping = false;
      }
      return why;
    }
  }
  ReapStarted(subtree);
  std::lock_guard lock(mu_);
  model_.RemoveSubtree(id);
  return Status::Ok();
}

void Deployment::ReapStarted(const std::vector<NodeId>& ids) {
  std::vector<pid_t> pids;
  {
    std::lock_guard lock(mu_);
    for (NodeId n : ids) {
      auto it = started_.find(n);
      if (it == started_.end()) continue;
      if (it->second.local_pid > 0) pids.push_back(it->second.local_pid);
      started_.erase(it);
    }
  }
  // Each was asked to shut down through its parent; one that did not (hung, or cut off) has
  // its process (or ssh session) killed.
  using namespace std::chrono_literals;
  for (pid_t p : pids) {
    if (!supervisor_.WaitExit(p, 1000ms)) {
      ::kill(p, SIGKILL);
      supervisor_.WaitExit(p, 2000ms);
    }
  }
}

NodeLaunch Deployment::LaunchFor(NodeId id, const std::string& host) const {
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

// The controller is the parent of the nodes it started (the root, and nodes on ssh hosts), so
// it applies the same restart policy as a node does to its children. Their children ask to be
// adopted by the new process by themselves.
void Deployment::OnStartedExit(pid_t pid) {
  std::lock_guard lock(mu_);
  for (auto it = started_.begin(); it != started_.end(); ++it) {
    Started& s = it->second;
    if (s.local_pid != pid) continue;
    if (shut_down_ || s.stopping) {
      s.local_pid = -1;
      s.state = "down";
      return;
    }
    spdlog::warn("node {} (pid {}) died", it->first, s.pid);
    if (!RestartBudget::Enabled(config_) || !s.budget.Take()) return LeaveDownLocked(it->first, s);
    s.state = "restarting";
    (void)respawner_.Post([this, id = it->first, pid] { RespawnStarted(id, pid, 0); });  // reserved
    return;
  }
}

// mu_ held. A node that stays down is dialled no more: nng would retry its dead address forever.
// The controller holds only the root's link; the parent of another node it started keeps
// dialling that one, since it cannot tell a node the controller will restart from one it will not.
void Deployment::LeaveDownLocked(NodeId id, Started& s) {
  s.state = "down";
  if (root_ && root_->id == id && root_->link) root_->link->StopDialing();
}

void Deployment::RespawnStarted(NodeId id, pid_t old_local_pid, int attempt) {
  NodeLaunch launch;
  {
    std::lock_guard lock(mu_);
    auto it = started_.find(id);
    if (it == started_.end() || it->second.local_pid != old_local_pid || shut_down_) return;
    launch = it->second.launch;
  }
  launch.respawn = true;
  Result<LaunchedNode> node = launcher_->Launch(launch);
  std::unique_lock lock(mu_);
  auto it = started_.find(id);
  if (it == started_.end() || it->second.local_pid != old_local_pid || shut_down_) {
    if (node.ok() && node->local_pid > 0) ::kill(node->local_pid, SIGKILL);
    return;
  }
  Started& s = it->second;
  if (!node.ok()) {
    // Its host may be cut off (an ssh node's session ends after about 30 s of partition): try
    // again, further and further apart, until the host answers. A failed start is not a crash,
    // so it takes nothing from the restart budget.
    auto delay = std::min(std::chrono::milliseconds(250) * (1 << std::min(attempt, 5)),
                          std::chrono::milliseconds(5000));
    if (attempt % 10 == 0) {
      spdlog::error("respawn of node {} failed: {}; trying again every {} ms at most", id,
                    node.status().message(), delay.count());
    }
    Status armed = retries_.After(Clock::now() + delay, [this, id, old_local_pid, attempt] {
      (void)respawner_.Post([this, id, old_local_pid, attempt] {  // reserved: cannot fail
        RespawnStarted(id, old_local_pid, attempt + 1);
      });
    });
    if (!armed.ok()) LeaveDownLocked(id, s);
    return;
  }
  // The parent's link (or the controller's, for the root) keeps the address and reconnects
  // by itself: a node being restarted was never left down.
  s.pid = node->pid;
  s.local_pid = node->local_pid;
  s.state = "up";
  ++s.restarts;
  // The root's only parent is this link: a connect attempt begun while the old root's host was
  // cut off could otherwise keep it waiting longer than the new root's orphan grace. Dialled
  // anew outside mu_: closing the old dialer waits for nng callbacks.
  std::shared_ptr<NodeLink> link = root_ && root_->id == id ? root_->link : nullptr;
  lock.unlock();
  if (Status st = link ? link->Restart() : Status::Ok(); !st.ok()) spdlog::warn("{}", st.message());
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
  std::vector<std::string> lines;
  std::string text = TreeText(TreeRows());
  for (std::size_t b = 0, e; b <= text.size(); b = e + 1) {
    e = std::min(text.find('\n', b), text.size());
    lines.push_back(text.substr(b, e - b));
  }
  return lines;
}

// Whether a node on `host` runs on this machine, where its pid can be checked.
bool Deployment::IsLocal(const std::string& host) const {
  const HostSpec* h = config_.Host(host);
  return host.empty() || (h != nullptr && h->launch == HostSpec::Launch::kLocal);
}

std::vector<TreeRow> Deployment::TreeRows() {
  Swept swept = Sweep();
  std::vector<TreeRow> rows;
  std::lock_guard lock(mu_);
  if (!model_.root()) return rows;
  std::function<void(NodeId, int)> walk = [&](NodeId id, int depth) {
    const TreeModel::Entry* e = model_.Find(id);
    TreeRow row{id, e->parent, depth, "unreachable", -1, 0, std::nullopt};
    std::string host = e->host;
    if (auto it = started_.find(id); it != started_.end()) {
      // "up" here only means its process runs; whether it answers is the sweep's to say.
      const bool runs = it->second.state == "up";
      row.state = runs ? "unreachable" : it->second.state;
      row.restarts = it->second.restarts;
      row.pid = runs ? it->second.pid : -1;
    } else if (auto rep = swept.child_report.find(id); rep != swept.child_report.end()) {
      row.state = rep->second.state;
      row.restarts = rep->second.restarts;
      row.pid = rep->second.pid;  // -1 from a parent that knows its child's process is gone
    } else if (IsLocal(host) && NodeProcessRuns(static_cast<pid_t>(e->pid), session_, id)) {
      row.pid = e->pid;  // nobody above it answers, but its process is still there
    }
    if (auto it = swept.reached.find(id); it != swept.reached.end()) {
      row.state = "up";
      row.pid = it->second.pid;
      host = it->second.host;
    }
    if (!config_.hosts.empty()) row.host = host;
    rows.push_back(std::move(row));
    if (e->left) walk(*e->left, depth + 1);
    if (e->right) walk(*e->right, depth + 1);
  };
  walk(*model_.root(), 0);
  return rows;
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

namespace {

// Sends `bytes` on `link` and hands `done` the decoded batch reply.
void CallForBatch(NodeLink& link, const std::string& bytes, Deadline deadline,
                  Deployment::BatchDone done) {
  nng_msg* msg = nullptr;
  if (int rv = nng_msg_alloc(&msg, bytes.size()); rv != 0) {
    return done(Internal("out of memory for a batch"));
  }
  std::memcpy(nng_msg_body(msg), bytes.data(), bytes.size());
  link.CallAsync(msg, deadline, [done = std::move(done)](nng_msg* reply, Status status) {
    if (reply == nullptr) return done(std::move(status));
    Result<BatchReply> r = DecodeBatchReply({static_cast<const std::uint8_t*>(nng_msg_body(reply)),
                                             nng_msg_len(reply)});
    nng_msg_free(reply);
    done(std::move(r));
  });
}

}  // namespace

void Deployment::SendBatch(BatchRequest q, Deadline deadline, BatchDone done) {
  std::shared_ptr<NodeLink> link = root_link();
  if (!link) return done(Unavailable("the tree has no root"));
  if (Status s = CheckBatchLimits(q); !s.ok()) return done(std::move(s));
  {
    std::lock_guard lock(seq_mu_);
    for (BatchGroup& g : q.groups) {
      std::uint64_t& last = last_seq_[g.target];
      g.order = {epoch_, last + 1};
      last += g.ops.size();
    }
  }
  q.id = next_request_id_++;
  q.budget_ms = static_cast<std::uint32_t>(config_.request_ms);
  CallForBatch(*link, EncodeBatch(q), deadline, std::move(done));
}

void Deployment::Collect(std::uint64_t token, Deadline deadline, BatchDone done) {
  std::shared_ptr<NodeLink> link = root_link();
  if (!link) return done(Unavailable("the tree has no root"));
  // The root answers a collect by its own deadline for the batch; this one only has to outlast it.
  CallForBatch(*link, EncodeCollect({next_request_id_++, RemainingMs(deadline), token}), deadline,
               std::move(done));
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
