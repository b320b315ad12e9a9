#include "node.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "wire_header.h"

namespace arbor {
namespace {

constexpr int kServerContexts = 256;
// Each hop gives its child slightly less time than it has itself, so that when a node hangs
// the hop nearest to it reports first, with the most precise message.
constexpr std::uint32_t kHopMarginMs = 1;
constexpr std::string_view kControlPrefix = "arbor.";
// A sweep waits for whole subtrees, so each level must answer its parent well before the
// parent gives up: each gives its children this much less time than it has.
constexpr std::uint32_t kSweepHopMarginMs = 10;

}  // namespace

Node::Node(NodeOptions options, Config config, Supervisor& supervisor, Spawner& spawner)
    : options_(std::move(options)),
      config_(std::move(config)),
      supervisor_(supervisor),
      spawner_(spawner),
      dispatcher_(options_.id) {
  link_options_.max_message_bytes = config_.max_message_bytes;
  link_options_.reconnect_min_ms = config_.reconnect_min_ms;
  link_options_.reconnect_max_ms = config_.reconnect_max_ms;
}

Node::~Node() { Close(); }

Status Node::Start(PluginSet plugins) {
  plugin_errors_ = std::move(plugins.errors);
  PluginContext context;
  context.node_id = options_.id;
  if (!config_.data_dir.empty()) {
    std::string dir = ExpandOrigin(config_.data_dir);
    auto p = dir.find("{session}");
    if (p != std::string::npos) dir.replace(p, 9, options_.session);
    data_dir_ = fmt::format("{}/node-{}", dir, options_.id);
  }
  const auto& specs = config_.PluginsFor(options_.id);
  for (const LoadedPlugin& p : plugins.plugins) {
    context.options.clear();
    for (const PluginSpec& s : specs) {
      if (s.name == p.name()) context.options = s.options;
    }
    // Each plugin gets its own directory, so plugins cannot collide with each other or with
    // the runtime's own files in the node's directory.
    context.data_dir = data_dir_.empty() ? "" : data_dir_ + "/" + p.name();
    Result<std::shared_ptr<Plugin>> made = p.Create(context);
    if (!made.ok()) {
      plugin_errors_.push_back(made.status());
      continue;
    }
    for (const VerbInfo& v : p.verbs()) dispatcher_.Add(v, *made);
    plugin_names_.push_back(p.name());
  }
  std::string url = config_.EndpointFor(options_.session, options_.id);
  auto server = Server::Listen(url, link_options_, kServerContexts,
                               [this](Server::Exchange* ex, nng_msg* m) { OnRequest(ex, m); });
  if (!server.ok()) return server.status();
  server_ = std::move(server).value();
  // Only now: a request handled before server_ is set would reply through a null pointer.
  if (Status s = server_->Start(); !s.ok()) return s;
  if (options_.respawn) {
    control_worker_.Post([this] { RecoverChildren(); });
  } else if (!ChildrenFile().empty()) {
    std::remove(ChildrenFile().c_str());  // a new node with an old id starts with no children
  }
  return Status::Ok();
}

void Node::Close() {
  if (server_) server_->Close();
}

std::shared_ptr<NodeLink> Node::LinkTo(int side, NodeId* child_id) {
  std::lock_guard lock(children_mu_);
  const auto& slot = children_[side];
  if (!slot.child) return nullptr;
  *child_id = slot.child->id;
  return slot.child->link;
}

void Node::OnRequest(Server::Exchange* ex, nng_msg* msg) {
  std::span<const std::uint8_t> body(static_cast<const std::uint8_t*>(nng_msg_body(msg)),
                                     nng_msg_len(msg));
  std::optional<RequestHeader> head = PeekRequestHeader(body);
  if (!head) {
    Result<Request> why = DecodeRequest(body);  // for the precise message
    nng_msg_free(msg);
    server_->Reply(ex, EncodeReply(RouteFailure(0, why.status())));
    return;
  }
  Deadline deadline = DeadlineIn(std::chrono::milliseconds(head->budget_ms));
  if (head->target != options_.id) {
    Forward(ex, msg, head->id, head->target, deadline);
    return;
  }
  Result<Request> request = DecodeRequest(body);
  nng_msg_free(msg);
  if (!request.ok()) {
    server_->Reply(ex, EncodeReply(RouteFailure(head->id, request.status())));
    return;
  }
  Execute(ex, std::move(request).value());
}

void Node::Forward(Server::Exchange* ex, nng_msg* msg, std::uint64_t request_id, NodeId target,
                   Deadline deadline) {
  auto fail = [&](Status why) {
    nng_msg_free(msg);
    server_->Reply(ex, EncodeReply(RouteFailure(request_id, std::move(why))));
  };
  NodeId child_id = 0;
  std::shared_ptr<NodeLink> link = LinkTo(SideOf(target), &child_id);
  if (!link) {
    return fail(NotFound(fmt::format("node {} has no child on the side of {}", options_.id, target)));
  }
  if (!link->connected()) {
    return fail(Unavailable(fmt::format("node {} is unreachable from node {}", child_id, options_.id)));
  }
  std::uint32_t left = RemainingMs(deadline);
  if (left <= kHopMarginMs) {
    return fail(Unavailable(fmt::format("deadline passed at node {}", options_.id)));
  }
  left -= kHopMarginMs;
  PatchBudget({static_cast<std::uint8_t*>(nng_msg_body(msg)), nng_msg_len(msg)}, left);
  Server* server = server_.get();
  NodeId self = options_.id;
  link->CallAsync(msg, DeadlineIn(std::chrono::milliseconds(left)),
                  [server, ex, request_id, child_id, self](nng_msg* reply, Status status) {
    if (reply != nullptr) return server->Reply(ex, reply);
    spdlog::debug("node {}: call to child {} failed: {}", self, child_id, status.ToString());
    server->Reply(ex, EncodeReply(RouteFailure(
                          request_id, Unavailable(fmt::format("node {} did not answer node {}: {}",
                                                              child_id, self, status.message())))));
  });
}

void Node::Execute(Server::Exchange* ex, Request request) {
  if (request.ops.size() == 1 && request.ops[0].verb == "arbor.sweep") {
    return Sweep(ex, request.id, DeadlineIn(std::chrono::milliseconds(request.budget_ms)));
  }
  bool blocking = false, control = false;
  for (const Op& op : request.ops) {
    control |= op.verb.starts_with(kControlPrefix);
    blocking |= dispatcher_.Blocking(op);
  }
  auto run = [this, ex, request = std::move(request)] {
    bool exit_after = false;
    Reply reply = RunOps(request, &exit_after);
    std::function<void()> after;
    if (exit_after) after = [this] { supervisor_.Stop(); };
    server_->Reply(ex, EncodeReply(reply), std::move(after));
  };
  if (control) {
    control_worker_.Post(std::move(run));
  } else if (blocking) {
    workers_.Post(std::move(run));
  } else {
    run();
  }
}

Reply Node::RunOps(const Request& request, bool* exit_after) {
  Reply reply;
  reply.id = request.id;
  reply.results.reserve(request.ops.size());
  for (const Op& op : request.ops) {
    if (op.verb.starts_with(kControlPrefix)) {
      reply.results.push_back(RunControl(op, exit_after));
    } else {
      reply.results.push_back(dispatcher_.Run(op));
    }
  }
  SyncPlugins(request, reply);
  return reply;
}

// Group commit: each plugin that ran operations in this request syncs once before the reply
// goes out. A failed sync turns that plugin's OK results into the error: nothing is
// acknowledged that is not durable.
void Node::SyncPlugins(const Request& request, Reply& reply) {
  std::vector<Plugin*> synced;
  for (std::size_t i = 0; i < request.ops.size(); ++i) {
    Plugin* p = dispatcher_.PluginFor(request.ops[i].verb);
    if (p == nullptr || std::find(synced.begin(), synced.end(), p) != synced.end()) continue;
    synced.push_back(p);
    Status s;
    try {
      s = p->Sync();
    } catch (const std::exception& e) {
      s = Internal(fmt::format("sync failed: {}", e.what()));
    } catch (...) {
      s = Internal("sync failed");
    }
    if (s.ok()) continue;
    for (std::size_t j = i; j < request.ops.size(); ++j) {
      if (dispatcher_.PluginFor(request.ops[j].verb) == p && reply.results[j].status.ok()) {
        reply.results[j] = {s, {}};
      }
    }
  }
}

OpResult Node::RunControl(const Op& op, bool* exit_after) {
  auto child_arg = [&]() -> std::optional<NodeId> {
    return op.args.size() == 1 ? ParseNodeId(op.args[0]) : std::nullopt;
  };
  if (op.verb == "arbor.spawn" || op.verb == "arbor.remove") {
    std::optional<NodeId> child = child_arg();
    if (!child) return {InvalidArgument(op.verb + " takes one node id"), {}};
    return op.verb == "arbor.spawn" ? Spawn(*child) : Remove(*child);
  }
  if (op.verb == "arbor.shutdown") {
    StopChildren();
    *exit_after = true;
    return {};
  }
  if (op.verb == "arbor.info") return Info();
  if (op.verb == "arbor.children") return Children();
  if (op.verb == "arbor.adopt") return Adopt(op);
  return {UnknownVerb(fmt::format("node {} serves no verb '{}'", options_.id, op.verb)), {}};
}

OpResult Node::Spawn(NodeId child) {
  if (child == options_.id) return {AlreadyExists("Already exists"), {}};
  int side = SideOf(child);
  {
    std::lock_guard lock(children_mu_);
    ChildSlot& slot = children_[side];
    // The same id again, and up: an earlier spawn whose answer was lost (the request timed
    // out on the way back while this node was hung). Saying where it is lets the caller
    // finish that create instead of leaving a node nobody knows about.
    if (slot.child && !slot.busy && slot.child->id == child && slot.state == ChildState::kUp) {
      return {Status::Ok(), std::to_string(slot.child->pid)};
    }
    if (slot.child || slot.busy) {
      return {AlreadyExists(fmt::format("node {} already has a child on the side of {}",
                                        options_.id, child)), {}};
    }
    slot.busy = true;
  }
  Result<ChildHandle> started = StartChild(spawner_, LaunchFor(child), link_options_);
  std::lock_guard lock(children_mu_);
  ChildSlot& slot = children_[side];
  slot.busy = false;
  if (!started.ok()) return {started.status(), {}};
  pid_t pid = started->pid;
  slot.child = std::move(started).value();
  slot.state = ChildState::kUp;
  slot.restarts = 0;
  slot.restart_times.clear();
  slot.adopted = false;
  ++slot.generation;
  SaveChildren();
  return {Status::Ok(), std::to_string(pid)};
}

NodeLaunch Node::LaunchFor(NodeId child) const {
  NodeLaunch launch;
  launch.binary = options_.binary;
  launch.id = child;
  launch.session = options_.session;
  launch.config_fd = options_.config_fd;
  launch.parent_id = options_.id;
  launch.lifeline_fd = options_.lifeline_fd;
  launch.respawn = false;
  launch.start_timeout = std::chrono::milliseconds(config_.start_ms);
  return launch;
}

OpResult Node::Remove(NodeId child) {
  int side = SideOf(child);
  ChildHandle handle;
  {
    std::lock_guard lock(children_mu_);
    ChildSlot& slot = children_[side];
    if (!slot.child || slot.child->id != child || slot.busy) {
      return {NotFound(fmt::format("node {} has no child {}", options_.id, child)), {}};
    }
    handle = std::move(*slot.child);
    handle.ours = !slot.adopted;
    slot.child.reset();
    slot.busy = true;
    ++slot.generation;
  }
  StopChild(handle, supervisor_, DeadlineIn(std::chrono::milliseconds(config_.request_ms)));
  std::lock_guard lock(children_mu_);
  children_[side].busy = false;
  SaveChildren();
  return {};
}

void Node::StopChildren() {
  std::array<std::optional<ChildHandle>, 2> taken;
  {
    std::lock_guard lock(children_mu_);
    for (int side = 0; side < 2; ++side) {
      ChildSlot& slot = children_[side];
      taken[side] = std::move(slot.child);
      if (taken[side]) taken[side]->ours = !slot.adopted;
      slot.child.reset();
      ++slot.generation;
    }
    SaveChildren();
  }
  // Both subtrees stop at once, so a whole tree stops in time proportional to its depth, not
  // its size, and a hung child on one side does not delay the other.
  Deadline deadline = DeadlineIn(std::chrono::milliseconds(config_.request_ms));
  std::thread left;
  if (taken[0]) left = std::thread([&] { StopChild(*taken[0], supervisor_, deadline); });
  if (taken[1]) StopChild(*taken[1], supervisor_, deadline);
  if (left.joinable()) left.join();
}

OpResult Node::Info() {
  std::string left = "-", right = "-";
  {
    std::lock_guard lock(children_mu_);
    if (children_[0].child) left = std::to_string(children_[0].child->id);
    if (children_[1].child) right = std::to_string(children_[1].child->id);
  }
  std::string plugins;
  for (const auto& p : plugin_names_) plugins += (plugins.empty() ? "" : ",") + p;
  return {Status::Ok(), fmt::format("pid={} left={} right={} plugins={}", getpid(), left, right,
                                    plugins.empty() ? "-" : plugins)};
}

namespace {
const char* StateName(int s) { return s == 0 ? "up" : s == 1 ? "down" : "restarting"; }
}  // namespace

// Runs on the supervisor thread for every child that exited. An exit we caused (remove,
// shutdown) finds no slot: those children left their slots before being stopped.
void Node::OnChildExit(pid_t pid, int status) {
  std::lock_guard lock(children_mu_);
  for (int side = 0; side < 2; ++side) {
    ChildSlot& slot = children_[side];
    if (!slot.child || slot.child->pid != pid || slot.state != ChildState::kUp) continue;
    NodeId id = slot.child->id;
    spdlog::warn("child {} (pid {}) died (wait status {})", id, pid, status);
    slot.adopted = false;
    if (config_.restart == Config::Restart::kNever) {
      slot.state = ChildState::kDown;
      return;
    }
    // Restart intensity, as in Erlang/OTP: at most max_restarts within the window.
    auto now = Clock::now();
    auto window = std::chrono::milliseconds(config_.restart_window_ms);
    while (!slot.restart_times.empty() && now - slot.restart_times.front() > window) {
      slot.restart_times.pop_front();
    }
    if (static_cast<int>(slot.restart_times.size()) >= config_.max_restarts) {
      spdlog::error("child {} restarted {} times within {} ms; leaving it down", id,
                    slot.restart_times.size(), config_.restart_window_ms);
      slot.state = ChildState::kDown;
      return;
    }
    slot.restart_times.push_back(now);
    slot.state = ChildState::kRestarting;
    control_worker_.Post([this, side, gen = slot.generation] { Respawn(side, gen); });
    return;
  }
}

// Starts the dead child again in place: same id, same endpoint. The link to it is kept, so it
// reconnects by itself; the respawned node's own children come back by asking to be adopted.
void Node::Respawn(int side, std::uint64_t generation) {
  NodeId id;
  {
    std::lock_guard lock(children_mu_);
    ChildSlot& slot = children_[side];
    if (!slot.child || slot.generation != generation) return;  // removed meanwhile
    id = slot.child->id;
  }
  NodeLaunch launch = LaunchFor(id);
  launch.respawn = true;
  Result<LaunchedNode> started = spawner_.Launch(launch);
  std::lock_guard lock(children_mu_);
  ChildSlot& slot = children_[side];
  if (!slot.child || slot.generation != generation) {
    if (started.ok()) ::kill(started->pid, SIGKILL);
    return;
  }
  if (!started.ok()) {
    // Killed while starting, say: that counts as another restart, within the same limit.
    spdlog::error("respawn of child {} failed: {}", id, started.status().ToString());
    auto now = Clock::now();
    if (static_cast<int>(slot.restart_times.size()) >= config_.max_restarts) {
      slot.state = ChildState::kDown;
      return;
    }
    slot.restart_times.push_back(now);
    control_worker_.Post([this, side, generation] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      Respawn(side, generation);
    });
    return;
  }
  slot.child->pid = started->pid;
  slot.state = ChildState::kUp;
  ++slot.restarts;
  spdlog::warn("child {} respawned as pid {} (restart {})", id, started->pid, slot.restarts);
}

// arbor.adopt <id> <url> <pid>: a node whose parent died asks its respawned parent (this node)
// to take it back. It is not our process, so it is watched by polling rather than reaped.
OpResult Node::Adopt(const Op& op) {
  std::optional<NodeId> child = op.args.size() == 3 ? ParseNodeId(op.args[0]) : std::nullopt;
  std::optional<NodeId> pid = op.args.size() == 3 ? ParseNodeId(op.args[2]) : std::nullopt;
  if (!child || !pid || *child == options_.id) {
    return {InvalidArgument("arbor.adopt takes <id> <url> <pid>"), {}};
  }
  int side = SideOf(*child);
  {
    std::lock_guard lock(children_mu_);
    ChildSlot& slot = children_[side];
    if (slot.busy) return {FailedPrecondition("busy"), {}};
    if (slot.child && slot.child->id == *child && slot.child->link->connected()) return {};
    if (slot.child && slot.state == ChildState::kUp && slot.child->link->connected()) {
      return {AlreadyExists(fmt::format("node {} already has a child on that side", options_.id)), {}};
    }
    slot.busy = true;
  }
  ChildHandle handle{*child, static_cast<pid_t>(*pid), op.args[1], nullptr, false};
  Result<std::unique_ptr<NodeLink>> link = NodeLink::Dial(handle.url, link_options_);
  bool up = link.ok() && (*link)->WaitConnected(DeadlineIn(std::chrono::milliseconds(1000)));
  std::lock_guard lock(children_mu_);
  ChildSlot& slot = children_[side];
  slot.busy = false;
  if (!up) return {Unavailable(fmt::format("cannot reach node {} to adopt it", *child)), {}};
  if (slot.child && slot.child->link) slot.child->link->Close();
  handle.link = std::move(link).value();
  slot.child = std::move(handle);
  slot.state = ChildState::kUp;
  slot.adopted = true;
  ++slot.generation;
  supervisor_.WatchForeign(static_cast<pid_t>(*pid));
  SaveChildren();
  spdlog::info("adopted child {} (pid {})", *child, *pid);
  return {};
}

// "L <id> <state> <restarts> <pid>;R ..." for the controller's `tree`.
OpResult Node::Children() {
  std::lock_guard lock(children_mu_);
  std::string out;
  for (int side = 0; side < 2; ++side) {
    const ChildSlot& slot = children_[side];
    if (!slot.child) continue;
    out += fmt::format("{}{} {} {} {} {}", out.empty() ? "" : ";", side == 0 ? "L" : "R",
                       slot.child->id, StateName(static_cast<int>(slot.state)), slot.restarts,
                       slot.child->pid);
  }
  return {Status::Ok(), out.empty() ? "-" : out};
}

void Node::OnTick(bool cut_off) {
  if (cut_off) return AskForAdoption();
  // Back in the tree: drop the link to the parent's endpoint, which would otherwise count as
  // an upstream connection and hide a later cut-off.
  if (adopt_link_ && !adopt_in_flight_) adopt_link_.reset();
}

// Cut off from the parent (it died): ask its endpoint, where a respawned parent will listen,
// to adopt this node. Harmless while nobody listens there; stops when the parent dials back.
void Node::AskForAdoption() {
  if (!options_.parent_id || adopt_in_flight_ || config_.restart == Config::Restart::kNever) {
    return;
  }
  if (!adopt_link_) {
    auto link = NodeLink::Dial(config_.EndpointFor(options_.session, *options_.parent_id),
                               link_options_);
    if (!link.ok()) return;
    adopt_link_ = std::move(link).value();
  }
  if (!adopt_link_->connected()) return;
  Request q;
  q.target = *options_.parent_id;
  q.budget_ms = 500;
  q.ops.push_back({"arbor.adopt", {std::to_string(options_.id), url(), std::to_string(getpid())}});
  adopt_in_flight_ = true;
  adopt_link_->CallAsync(q, DeadlineIn(std::chrono::milliseconds(500)),
                         [this](nng_msg* reply, Status) {
    if (reply != nullptr) nng_msg_free(reply);
    adopt_in_flight_ = false;
  });
}

// arbor.sweep: this node's line ("<id> <pid> <children>") followed by the lines of every node
// below it that answers. Children are asked in parallel and without blocking a thread, so a
// sweep of the whole tree costs about one round trip per level, and a dead or hung subtree
// costs at most the deadline, in parallel with the rest.
void Node::Sweep(Server::Exchange* ex, std::uint64_t request_id, Deadline deadline) {
  struct State {
    std::mutex mu;
    int pending = 1;  // one for this node, released after the children are asked
    std::string text;
  };
  auto state = std::make_shared<State>();
  state->text = fmt::format("{} {} {}", options_.id, getpid(), Children().text);
  Server* server = server_.get();
  auto release = [server, ex, request_id, state] {
    std::string text;
    {
      std::lock_guard lock(state->mu);
      if (--state->pending > 0) return;
      text = std::move(state->text);
    }
    Reply reply;
    reply.id = request_id;
    reply.results.push_back({Status::Ok(), std::move(text)});
    server->Reply(ex, EncodeReply(reply));
  };
  std::vector<std::pair<NodeId, std::shared_ptr<NodeLink>>> kids;
  {
    std::lock_guard lock(children_mu_);
    for (const ChildSlot& slot : children_) {
      if (slot.child && slot.child->link && slot.child->link->connected()) {
        kids.emplace_back(slot.child->id, slot.child->link);
      }
    }
  }
  std::uint32_t left = RemainingMs(deadline);
  for (auto& [id, link] : kids) {
    if (left <= kSweepHopMarginMs) break;
    Request q;
    q.id = request_id;
    q.target = id;
    q.budget_ms = left - kSweepHopMarginMs;
    q.ops.push_back({"arbor.sweep", {}});
    {
      std::lock_guard lock(state->mu);
      ++state->pending;
    }
    link->CallAsync(q, DeadlineIn(std::chrono::milliseconds(q.budget_ms)),
                    [state, release](nng_msg* reply, Status) {
      if (reply != nullptr) {
        auto r = DecodeReply({static_cast<const std::uint8_t*>(nng_msg_body(reply)), nng_msg_len(reply)});
        nng_msg_free(reply);
        if (r.ok() && r->route.ok() && r->results.size() == 1 && r->results[0].status.ok()) {
          std::lock_guard lock(state->mu);
          state->text += "\n" + r->results[0].text;
        }
      }
      release();
    });
  }
  release();
}

std::string Node::ChildrenFile() const {
  if (config_.restart != Config::Restart::kOnFailure || data_dir_.empty()) return "";
  return data_dir_ + "/children";
}

// Written atomically (temporary file, then rename): a kill in the middle leaves the old list.
void Node::SaveChildren() {
  std::string path = ChildrenFile();
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  std::string tmp = path + ".tmp";
  std::string text;
  for (const ChildSlot& slot : children_) {
    if (slot.child) text += std::to_string(slot.child->id) + "\n";
  }
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return spdlog::error("cannot write {}: {}", tmp, std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;  // the rename must not publish a file whose data is not there
  ::close(fd);
  if (!ok) return spdlog::error("cannot write {}", tmp);
  std::filesystem::rename(tmp, path, ec);
}

// A respawned node takes back the children its previous process had: each one that still runs
// is dialled at its endpoint (and watched, since it is no longer our process); one that died
// meanwhile, with nobody left to notice, is started again and loads its own data.
void Node::RecoverChildren() {
  std::ifstream in(ChildrenFile());
  for (std::string line; std::getline(in, line);) {
    if (std::optional<NodeId> id = ParseNodeId(line)) RecoverChild(*id);
  }
}

void Node::RecoverChild(NodeId id) {
  int side = SideOf(id);
  {
    std::lock_guard lock(children_mu_);
    if (children_[side].child || children_[side].busy) return;  // adopted already
    children_[side].busy = true;
  }
  auto link = NodeLink::Dial(config_.EndpointFor(options_.session, id), link_options_);
  std::optional<ChildHandle> handle;
  bool ours = false;
  if (link.ok() && (*link)->WaitConnected(DeadlineIn(std::chrono::milliseconds(300)))) {
    Request q;
    q.target = id;
    q.budget_ms = 1000;
    q.ops.push_back({"arbor.info", {}});
    Result<Reply> r = (*link)->Call(q, DeadlineIn(std::chrono::milliseconds(1000)));
    if (r.ok() && r->route.ok() && r->results.size() == 1 && r->results[0].status.ok()) {
      const std::string& t = r->results[0].text;  // "pid=<pid> ..."
      std::optional<NodeId> pid = ParseNodeId(t.substr(4, t.find(' ') - 4));
      if (pid) handle = ChildHandle{id, static_cast<pid_t>(*pid), (*link)->url(), std::move(link).value(), false};
    }
  }
  if (!handle) {
    NodeLaunch launch = LaunchFor(id);
    launch.respawn = true;
    Result<ChildHandle> started = StartChild(spawner_, launch, link_options_);
    if (started.ok()) handle = std::move(started).value(), ours = true;
  }
  std::lock_guard lock(children_mu_);
  ChildSlot& slot = children_[side];
  slot.busy = false;
  if (!handle) {
    spdlog::error("could not recover child {}", id);
    return;
  }
  if (slot.child) {  // adopted while we worked: keep that one
    if (ours) ::kill(handle->pid, SIGKILL);
    return;
  }
  if (!ours) supervisor_.WatchForeign(handle->pid);
  slot.child = std::move(handle);
  slot.state = ChildState::kUp;
  slot.adopted = !ours;
  ++slot.generation;
  spdlog::warn("recovered child {} ({})", id, ours ? "restarted" : "still running");
}

}  // namespace arbor
