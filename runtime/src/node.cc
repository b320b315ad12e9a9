#include "node.h"

#include <signal.h>
#include <unistd.h>

#include <charconv>
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

std::optional<NodeId> ParseId(const std::string& s) {
  NodeId v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

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
    context.data_dir = fmt::format("{}/node-{}", dir, options_.id);
  }
  const auto& specs = config_.PluginsFor(options_.id);
  for (const LoadedPlugin& p : plugins.plugins) {
    for (const PluginSpec& s : specs) {
      if (s.name == p.name()) context.options = s.options;
    }
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
  return reply;
}

OpResult Node::RunControl(const Op& op, bool* exit_after) {
  auto child_arg = [&]() -> std::optional<NodeId> {
    return op.args.size() == 1 ? ParseId(op.args[0]) : std::nullopt;
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
  return {UnknownVerb(fmt::format("node {} serves no verb '{}'", options_.id, op.verb)), {}};
}

OpResult Node::Spawn(NodeId child) {
  if (child == options_.id) return {AlreadyExists("Already exists"), {}};
  int side = SideOf(child);
  {
    std::lock_guard lock(children_mu_);
    ChildSlot& slot = children_[side];
    if (slot.child || slot.busy) {
      return {AlreadyExists(fmt::format("node {} already has a child on the side of {}",
                                        options_.id, child)), {}};
    }
    slot.busy = true;
  }
  NodeLaunch launch;
  launch.binary = options_.binary;
  launch.id = child;
  launch.session = options_.session;
  launch.config_path = options_.config_path;
  launch.lifeline_fd = options_.lifeline_fd;
  launch.start_timeout = std::chrono::milliseconds(config_.start_ms);
  Result<ChildHandle> started = StartChild(spawner_, launch, link_options_);
  std::lock_guard lock(children_mu_);
  children_[side].busy = false;
  if (!started.ok()) return {started.status(), {}};
  pid_t pid = started->pid;
  children_[side].child = std::move(started).value();
  return {Status::Ok(), std::to_string(pid)};
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
    slot.child.reset();
    slot.busy = true;
  }
  StopChild(handle, supervisor_, DeadlineIn(std::chrono::milliseconds(config_.request_ms)));
  std::lock_guard lock(children_mu_);
  children_[side].busy = false;
  return {};
}

void Node::StopChildren() {
  std::array<std::optional<ChildHandle>, 2> taken;
  {
    std::lock_guard lock(children_mu_);
    for (int side = 0; side < 2; ++side) taken[side] = std::move(children_[side].child);
    for (auto& slot : children_) slot.child.reset();
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

}  // namespace arbor
