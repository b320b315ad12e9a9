#include "deployment.h"

#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

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

}  // namespace

Deployment::Deployment(Config config, std::string config_path, std::string node_binary)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      node_binary_(std::move(node_binary)),
      session_(NewSession()),
      supervisor_(Supervisor::Options{}) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) == 0) {
    lifeline_read_ = fds[0];
    lifeline_write_ = fds[1];  // never written; its closing is the message
  }
  supervisor_thread_ = std::thread([this] { supervisor_.Run(); });
}

Deployment::~Deployment() {
  Shutdown();
  supervisor_.Stop();
  supervisor_thread_.join();
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
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return FailedPrecondition("the deployment is shutting down");
    if (model_.Contains(id)) return AlreadyExists("Already exists");
    parent = model_.InsertionParent(id);
  }
  pid_t pid = -1;
  if (!parent) {
    NodeLaunch launch;
    launch.binary = node_binary_;
    launch.id = id;
    launch.session = session_;
    launch.config_path = config_path_;
    launch.lifeline_fd = lifeline_read_;
    launch.new_process_group = true;
    launch.start_timeout = std::chrono::milliseconds(config_.start_ms);
    LinkOptions lo{config_.max_message_bytes, config_.reconnect_min_ms, config_.reconnect_max_ms};
    Result<ChildHandle> root = StartChild(DefaultSpawner(), launch, lo);
    // A failed start is the node's fault, not an unreachable parent's.
    if (!root.ok()) return FailedPrecondition(root.status().message());
    pid = root->pid;
    std::lock_guard lock(mu_);
    root_ = std::move(root).value();
  } else {
    Result<Reply> r = SendAndWait(*parent, {{"arbor.spawn", {std::to_string(id)}}},
                                  DeadlineIn(ControlBudget(config_)));
    if (!r.ok()) return r.status();
    if (!r->route.ok()) return r->route;
    const OpResult& op = r->results.at(0);
    if (op.status.code() == Code::kAlreadyExists) return op.status;
    if (!op.status.ok()) return FailedPrecondition(op.status.message());
    pid = static_cast<pid_t>(std::stol(op.text));
  }
  std::lock_guard lock(mu_);
  model_.Insert(id, pid);
  return pid;
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
    Result<Reply> r = SendAndWait(*parent, {{"arbor.remove", {std::to_string(id)}}},
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

std::vector<NodeId> Deployment::Unreachable() {
  std::vector<NodeId> ids = Ids();
  std::mutex mu;
  std::condition_variable cv;
  std::size_t pending = ids.size();
  std::vector<NodeId> down;
  for (NodeId id : ids) {
    Send(id, {{"ping", {}}}, [&, id](Result<Reply> r) {
      // Any answer from the node itself, even "no such verb", proves it is reachable.
      bool up = r.ok() && r->route.ok();
      std::lock_guard lock(mu);
      if (!up) down.push_back(id);
      if (--pending == 0) cv.notify_one();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return pending == 0; });
  std::sort(down.begin(), down.end());
  return down;
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
  std::string bytes = EncodeRequest(q);
  nng_msg* msg = nullptr;
  if (nng_msg_alloc(&msg, bytes.size()) != 0) return done(Internal("out of memory"));
  std::memcpy(nng_msg_body(msg), bytes.data(), bytes.size());
  // A little longer than the budget, so a hop inside the tree reports a hung node before the
  // controller's own timer fires.
  Deadline deadline = DeadlineIn(std::chrono::milliseconds(config_.request_ms + 50));
  link->CallAsync(msg, deadline, [done = std::move(done)](nng_msg* reply, Status status) {
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
