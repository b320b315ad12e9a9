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

#include "arbor/config_handoff.h"
#include "arbor/batch.h"
#include "wire_header.h"

namespace arbor {
namespace {

constexpr int kServerContexts = 256;
// Each hop gives its child slightly less time than it has itself, so that when a node hangs
// the hop nearest to it reports first, with the most precise message.
constexpr std::uint32_t kHopMarginMs = 1;
constexpr std::string_view kControlPrefix = "arbor.";

}  // namespace

Node::Node(NodeOptions options, Config config, Supervisor& supervisor, Launcher& launcher)
    : options_(std::move(options)),
      config_(std::move(config)),
      supervisor_(supervisor),
      launcher_(launcher),
      dispatcher_(options_.id),
      digest_(ConfigDigest(config_)) {
  link_options_.max_message_bytes = config_.max_message_bytes;
  link_options_.reconnect_min_ms = config_.reconnect_min_ms;
  link_options_.reconnect_max_ms = config_.reconnect_max_ms;
  link_options_.max_connections = config_.max_connections;
  link_options_.tls = config_.TlsFor(options_.host);
}

Node::~Node() {
  closing_ = true;  // also ends a listener check early
  if (listener_check_.joinable()) listener_check_.join();
  Close();
}

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
  // The control worker stops this node's subtree (remove, shutdown) and must exist when that
  // is asked, however short of threads the host is by then: it starts now, or the node does
  // not start at all (its parent's create answers why). The blocking-verb workers start on
  // demand.
  if (Status s = control_worker_.Reserve(1); !s.ok()) return s;
  children_ = std::make_unique<ChildTable>(config_, ChildrenFile());
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
  if (Status s = OpenFence(); !s.ok()) return s;
  std::string url = config_.EndpointFor(options_.session, options_.id, options_.host);
  auto server = Server::Listen(url, link_options_, kServerContexts,
                               [this](Server::Exchange* ex, nng_msg* m) { OnRequest(ex, m); });
  if (!server.ok()) return server.status();
  server_ = std::move(server).value();
  // Only now: a request handled before server_ is set would reply through a null pointer.
  if (Status s = server_->Start(); !s.ok()) return s;
  if (options_.respawn) {
    // Cannot fail: the control worker's thread was reserved above.
    (void)control_worker_.Post([this] { RecoverChildren(); });
  } else {
    children_->ForgetSaved();  // a new node with an old id starts with no children
  }
  return Status::Ok();
}

// With a data directory, the sequence mark lives beside the data, so a restarted node refuses
// what its previous process would have.
Status Node::OpenFence() {
  if (data_dir_.empty()) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(data_dir_, ec);
  if (ec) return Internal(fmt::format("cannot create {}: {}", data_dir_, ec.message()));
  Status s = fence_.Open(data_dir_ + "/sequence");
  if (s.code() == Code::kFailedPrecondition) {
    // Damage can only come from outside (a power loss tearing the write, an edit): a mark of
    // nothing refuses less, never more, and the data is still served.
    spdlog::warn("node {}: {}", options_.id, s.message());
    return Status::Ok();
  }
  return s;
}

void Node::Close() {
  if (server_) server_->Close();
}

void Node::OnRequest(Server::Exchange* ex, nng_msg* msg) {
  std::span<const std::uint8_t> body(static_cast<const std::uint8_t*>(nng_msg_body(msg)),
                                     nng_msg_len(msg));
  std::optional<std::uint8_t> kind = PeekKind(body);
  if (kind == kKindBatch) return OnBatch(ex, msg);
  if (kind == kKindCollect) return OnCollect(ex, msg);
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

Result<std::shared_ptr<NodeLink>> Node::RouteTo(NodeId target, NodeId* child_id) {
  std::shared_ptr<NodeLink> link = children_->LinkTo(SideOf(target), child_id);
  if (!link) {
    return NotFound(fmt::format("node {} has no child on the side of {}", options_.id, target));
  }
  if (!link->connected()) {
    return Unavailable(fmt::format("node {} is unreachable from node {}", *child_id, options_.id));
  }
  return link;
}

void Node::Forward(Server::Exchange* ex, nng_msg* msg, std::uint64_t request_id, NodeId target,
                   Deadline deadline) {
  auto fail = [&](Status why) {
    nng_msg_free(msg);
    server_->Reply(ex, EncodeReply(RouteFailure(request_id, std::move(why))));
  };
  NodeId child_id = 0;
  Result<std::shared_ptr<NodeLink>> link = RouteTo(target, &child_id);
  if (!link.ok()) return fail(link.status());
  std::uint32_t left = RemainingMs(deadline);
  if (left <= kHopMarginMs) {
    return fail(Unavailable(fmt::format("deadline passed at node {}", options_.id)));
  }
  left -= kHopMarginMs;
  PatchBudget({static_cast<std::uint8_t*>(nng_msg_body(msg)), nng_msg_len(msg)}, left);
  Server* server = server_.get();
  NodeId self = options_.id;
  (*link)->CallAsync(msg, DeadlineIn(std::chrono::milliseconds(left)),
                     [server, ex, request_id, child_id, self](nng_msg* reply, Status status) {
    if (reply != nullptr) return server->Reply(ex, reply);
    spdlog::debug("node {}: call to child {} failed: {}", self, child_id, status.ToString());
    server->Reply(ex, EncodeReply(RouteFailure(
                          request_id, Unavailable(fmt::format("node {} did not answer node {}: {}",
                                                              child_id, self, status.message())))));
  });
}

void Node::Execute(Server::Exchange* ex, Request request) {
  if (request.ops.size() == 1 && request.ops[0].verb == kSweepVerb) {
    return Sweep(ex, request.id, DeadlineIn(std::chrono::milliseconds(request.budget_ms)));
  }
  const std::uint64_t request_id = request.id;
  const std::size_t ops = request.ops.size();
  auto work = std::make_shared<Request>(std::move(request));
  Status queued = RunWhereItFits(work->ops, [this, ex, work] {
    bool exit_after = false;
    Reply reply;
    reply.id = work->id;
    reply.results = RunOps(work->ops, &exit_after);
    FitReply(reply);
    std::function<void()> after;
    if (exit_after) after = [this] { supervisor_.Stop(); };
    server_->Reply(ex, EncodeReply(reply), std::move(after));
  });
  if (queued.ok()) return;
  Reply reply;
  reply.id = request_id;
  reply.results.assign(ops, OpResult{queued, {}});
  server_->Reply(ex, EncodeReply(reply));
}

WorkerPool* Node::PoolFor(const std::vector<Op>& ops) {
  bool blocking = false, control = false;
  for (const Op& op : ops) {
    control |= op.verb.starts_with(kControlPrefix);
    blocking |= dispatcher_.Blocking(op);
  }
  if (control) return &control_worker_;
  return blocking ? &workers_ : nullptr;
}

Status Node::RunWhereItFits(const std::vector<Op>& ops, std::function<void()> task) {
  WorkerPool* pool = PoolFor(ops);
  if (pool == nullptr) {
    task();
    return Status::Ok();
  }
  Status queued = pool->Post(std::move(task));
  return queued.ok() ? queued : NoWorker(queued);
}

// No worker and none can start (the host is out of tasks): each op fails with the reason, and
// the node goes on serving everything else.
Status Node::NoWorker(const Status& why) const {
  return Status(why.code(), fmt::format("node {}: {}", options_.id, why.message()));
}

Status Node::TooLarge(std::size_t bytes) const {
  if (bytes > kMaxStringBytes) {
    return FailedPrecondition(fmt::format(
        "the answer ({} bytes) is over the {}-byte limit of an answer", bytes, kMaxStringBytes));
  }
  return FailedPrecondition(fmt::format(
      "the answer ({} bytes) does not fit in a reply (max_message_bytes {})", bytes,
      config_.max_message_bytes));
}

void Node::CapAnswer(OpResult& result, std::size_t room) const {
  const std::string& text = result.status.ok() ? result.text : result.status.message();
  // Room for the reply's own header and the entry's (batch.h), with some to spare.
  constexpr std::size_t kOverhead = 64;
  if (text.size() <= kMaxStringBytes && text.size() + kOverhead <= room) return;
  result = {TooLarge(text.size()), {}};
}

// A reply over max_message_bytes would be dropped by the requester's size limit and look like a
// hung node. The largest answers give way, one at a time, to an error saying why.
void Node::FitReply(Reply& reply) const {
  auto size = [](const OpResult& r) { return r.status.ok() ? r.text.size() : r.status.message().size(); };
  std::size_t total = 64;
  for (OpResult& r : reply.results) {
    CapAnswer(r, config_.max_message_bytes);
    total += 5 + size(r);
  }
  while (total > config_.max_message_bytes) {
    auto largest = std::max_element(reply.results.begin(), reply.results.end(),
                                    [&](const OpResult& a, const OpResult& b) { return size(a) < size(b); });
    std::size_t before = size(*largest);
    CapAnswer(*largest, 0);
    if (size(*largest) >= before) break;  // nothing left to shrink
    total -= before - size(*largest);
  }
}

std::vector<OpResult> Node::RunOps(const std::vector<Op>& ops, bool* exit_after) {
  std::vector<OpResult> results;
  results.reserve(ops.size());
  for (const Op& op : ops) {
    if (!op.verb.starts_with(kControlPrefix)) {
      results.push_back(dispatcher_.Run(op));
    } else if (exit_after != nullptr || op.verb == kInfoVerb) {
      results.push_back(RunControl(op, exit_after));
    } else {
      // In a batch (no exit_after): a control verb that changes the tree, or ends this node,
      // would act in the middle of other targets' commands. The controller never batches one.
      results.push_back({InvalidArgument(fmt::format("{} cannot travel in a batch", op.verb)), {}});
    }
  }
  SyncPlugins(ops, results);
  return results;
}

// Group commit: each plugin that ran operations in this request syncs once before the reply
// goes out. A failed sync turns that plugin's OK results into the error: nothing is
// acknowledged that is not durable.
void Node::SyncPlugins(const std::vector<Op>& ops, std::vector<OpResult>& results) {
  std::vector<Plugin*> synced;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    Plugin* p = dispatcher_.PluginFor(ops[i].verb);
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
    for (std::size_t j = i; j < ops.size(); ++j) {
      if (dispatcher_.PluginFor(ops[j].verb) == p && results[j].status.ok()) results[j] = {s, {}};
    }
  }
}

}  // namespace arbor
