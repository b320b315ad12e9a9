// Batches at a node: split by route, run the own part, merge the answers, hold the late ones.
// The protocol is described in batch.h; this is one hop of it.
//
// A batch becomes a BatchRun with up to three parts: the operations for this node, and one
// sub-batch per child side. Each part fills `ready` with answers as they come in, and Deliver()
// decides when the waiting requester (the batch itself, later a collect) gets them:
//  - every part is in: everything ready goes, as much as fits in one reply; the rest is held;
//  - the batch's first reply, with some part still out: a linger after the first answer came in
//    (kLinger, plus kLingerPerOp for each operation in the batch: a large batch takes a healthy
//    subtree longer),
//    so that a subtree answering a little later than this node's own part costs no extra round
//    trip, and a hung one holds back nothing for longer than that;
//  - a collect: at once when anything is ready, else at the next answer.
// A sub-batch whose reply holds answers back is collected from at once by the same hop, so a
// part is done only when every one of its operations has an answer.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include "arbor/batch.h"
#include "node.h"

namespace arbor {
namespace {

constexpr std::uint32_t kHopMarginMs = 1;
// See above. Long enough to cover a healthy subtree working through a large batch (a few ms),
// short against any deadline.
constexpr auto kLinger = std::chrono::milliseconds(5);
constexpr auto kLingerPerOp = std::chrono::microseconds(2);
// A held batch whose requester never collects (it went away) is dropped this long after its
// deadline.
constexpr auto kHoldGrace = std::chrono::seconds(10);
// Held batches per node. Past this the oldest is dropped, and its collect says so: memory stays
// bounded whatever requesters do.
constexpr std::size_t kMaxHeld = 1024;

std::span<const std::uint8_t> Body(nng_msg* m) {
  return {static_cast<const std::uint8_t*>(nng_msg_body(m)), nng_msg_len(m)};
}

nng_msg* NewMessage(std::size_t n) {
  nng_msg* m = nullptr;
  return nng_msg_alloc(&m, n) == 0 ? m : nullptr;
}

}  // namespace

struct Node::BatchRun {
  struct Part {
    NodeId child = 0;
    std::shared_ptr<NodeLink> link;
    std::vector<std::uint32_t> index;  // the child's index -> the run's; empty: the same
    std::vector<bool> answered;        // by the child's index
    std::uint32_t left = 0;            // operations without an answer yet
  };

  std::mutex mu;
  Deadline deadline;
  std::uint32_t ops = 0;     // in the batch
  std::uint32_t unsent = 0;  // operations whose answer has not gone to the requester
  int parts_out = 0;         // parts with operations still unanswered
  Part parts[2];
  // Answers in, not sent yet: encoded entries (batch.h), so that a child's go up by copying.
  std::string ready;
  std::vector<std::uint32_t> ends;  // where each entry in `ready` ends
  std::size_t sent = 0;             // ends[0, sent) went out already
  bool any_ready() const { return sent < ends.size(); }
  void Add(std::uint32_t index, bool ran, const OpResult& result) {
    AppendEntry(ready, index, ran, result);
    ends.push_back(static_cast<std::uint32_t>(ready.size()));
  }
  Server::Exchange* waiter = nullptr;  // the requester waiting for a reply, if any
  std::uint64_t waiter_id = 0;         // the id its reply carries
  bool first = true;                   // the waiter is the batch itself, not a collect
  bool linger_armed = false;
  std::uint64_t token = 0;  // nonzero once held
};

struct Node::OwnGroup {
  GroupSeq order;
  std::uint32_t first = 0;  // the batch index of its first operation
  std::vector<Op> ops;
};

// Admitted operations of one batch, waiting for their turn.
struct Node::OwnWork {
  std::shared_ptr<BatchRun> run;
  std::vector<Op> ops;
  std::vector<std::uint32_t> indices;  // each op's index in the batch
};

void Node::OnBatch(Server::Exchange* ex, nng_msg* msg) {
  Result<BatchView> view = ScanBatch(Body(msg));
  if (!view.ok()) {
    nng_msg_free(msg);
    BatchReply failed;
    failed.route = view.status();
    server_->Reply(ex, EncodeBatchReply(failed));
    return;
  }
  auto run = std::make_shared<BatchRun>();
  run->deadline = DeadlineIn(std::chrono::milliseconds(view->budget_ms));
  run->ops = run->unsent = view->nops;
  run->waiter = ex;
  run->waiter_id = view->id;
  std::vector<const GroupSpan*> sides[2];
  std::vector<OwnGroup> own;
  for (const GroupSpan& g : view->groups) {
    if (g.target != options_.id) {
      sides[SideOf(g.target)].push_back(&g);
      continue;
    }
    own.push_back({g.order, g.first, DecodeGroupOps(g)});
  }
  run->parts_out = (own.empty() ? 0 : 1) + (sides[0].empty() ? 0 : 1) + (sides[1].empty() ? 0 : 1);
  for (int side = 0; side < 2; ++side) {
    if (sides[side].empty()) continue;
    BatchRun::Part& part = run->parts[side];
    std::uint32_t n = 0;
    for (const GroupSpan* g : sides[side]) n += g->nops;
    part.left = n;
    part.answered.assign(n, false);
    nng_msg* sub = nullptr;
    if (own.empty() && sides[1 - side].empty()) {
      sub = msg;  // the whole batch goes on as it came; indices stay the same
      msg = nullptr;
    } else {
      part.index.reserve(n);
      for (const GroupSpan* g : sides[side]) {
        for (std::uint32_t i = 0; i < g->nops; ++i) part.index.push_back(g->first + i);
      }
      sub = NewMessage(SubBatchSize(sides[side]));
      if (sub != nullptr) {
        WriteSubBatch(static_cast<std::uint8_t*>(nng_msg_body(sub)), view->id, 0, sides[side]);
      }
    }
    StartPart(run, side, sides[side].front()->target, sub);
  }
  if (msg != nullptr) nng_msg_free(msg);  // the views into it are not used past this point
  if (!own.empty()) RunBatchSelf(run, std::move(own));
}

// Sends a part's sub-batch (null: it could not be allocated) to the child on `side`.
// `target`: any target of the part, which gives the side.
void Node::StartPart(const std::shared_ptr<BatchRun>& run, int side, NodeId target, nng_msg* sub) {
  if (sub == nullptr) return OnPartReply(run, side, nullptr, Internal("out of memory"));
  BatchRun::Part& part = run->parts[side];
  Result<std::shared_ptr<NodeLink>> link = RouteTo(target, &part.child);
  std::uint32_t left = RemainingMs(run->deadline);
  if (link.ok() && left <= kHopMarginMs) {
    link = Unavailable(fmt::format("deadline passed at node {}", options_.id));
  }
  if (!link.ok()) {
    nng_msg_free(sub);
    // Not "did not answer": no call was made. The route failure goes to every operation.
    std::unique_lock lock(run->mu);
    for (std::uint32_t i = 0; i < part.left; ++i) {
      std::uint32_t at = part.index.empty() ? i : part.index[i];
      run->Add(at, false, {link.status(), {}});
    }
    part.left = 0;
    --run->parts_out;
    return Deliver(run, lock);
  }
  part.link = *link;
  left -= kHopMarginMs;
  PatchBatchBudget({static_cast<std::uint8_t*>(nng_msg_body(sub)), nng_msg_len(sub)}, left);
  part.link->CallAsync(sub, DeadlineIn(std::chrono::milliseconds(left)),
                       [this, run, side](nng_msg* reply, Status status) {
    OnPartReply(run, side, reply, std::move(status));
  });
}

void Node::CollectPart(const std::shared_ptr<BatchRun>& run, int side, std::uint64_t token) {
  BatchRun::Part& part = run->parts[side];
  std::uint32_t left = RemainingMs(run->deadline);
  if (left <= kHopMarginMs) {
    return OnPartReply(run, side, nullptr,
                       Unavailable(fmt::format("deadline passed at node {}", options_.id)));
  }
  left -= kHopMarginMs;
  std::string bytes = EncodeCollect({0, left, token});
  nng_msg* msg = NewMessage(bytes.size());
  if (msg == nullptr) return OnPartReply(run, side, nullptr, Internal("out of memory"));
  std::memcpy(nng_msg_body(msg), bytes.data(), bytes.size());
  part.link->CallAsync(msg, DeadlineIn(std::chrono::milliseconds(left)),
                       [this, run, side](nng_msg* reply, Status status) {
    OnPartReply(run, side, reply, std::move(status));
  });
}

void Node::OnPartReply(const std::shared_ptr<BatchRun>& run, int side, nng_msg* reply,
                       Status status) {
  std::unique_lock lock(run->mu);
  BatchRun::Part& part = run->parts[side];
  // The common case: the whole batch went to this child, which answered all of it at once.
  // Its reply is passed up unchanged, as a plain forward would.
  if (reply != nullptr && run->parts_out == 1 && part.index.empty() && run->first &&
      run->waiter != nullptr && !run->any_ready() &&
      part.left == run->unsent && PeekBatchReplyHeld(Body(reply)) == std::uint64_t{0}) {
    Server::Exchange* ex = run->waiter;
    run->waiter = nullptr;
    run->unsent = 0;
    part.left = 0;
    run->parts_out = 0;
    lock.unlock();
    return server_->Reply(ex, reply);
  }
  Status route = std::move(status);
  std::uint64_t held = 0;
  if (reply != nullptr) {
    Result<BatchReplyView> r = ScanBatchReply(Body(reply));
    if (!r.ok()) {
      route = Internal(fmt::format("node {} sent node {} a bad reply: {}", part.child, options_.id,
                                   r.status().message()));
    } else {
      const std::size_t room = config_.max_message_bytes - kBatchReplyHeaderBytes;
      for (const EntrySpan& e : r->entries) {
        // A child answers only what it was asked, once; anything else is ignored.
        if (e.index >= part.answered.size() || part.answered[e.index]) continue;
        part.answered[e.index] = true;
        --part.left;
        std::uint32_t at = part.index.empty() ? e.index : part.index[e.index];
        if (e.bytes.size() <= room) {
          AppendEntry(run->ready, e, at);
          run->ends.push_back(static_cast<std::uint32_t>(run->ready.size()));
        } else {  // only a child with another max_message_bytes sends one this large
          run->Add(at, true, {TooLarge(e.bytes.size() - kBatchEntryHeaderBytes), {}});
        }
      }
      route = std::move(r->route);
      held = r->held;
      if (route.ok() && part.left > 0 && held == 0) {
        route = Internal(fmt::format("node {} sent node {} no answer for it", part.child, options_.id));
      }
    }
    nng_msg_free(reply);
  } else {
    spdlog::debug("node {}: batch to child {} failed: {}", options_.id, part.child, route.ToString());
    route = Unavailable(fmt::format("node {} did not answer node {}: {}", part.child, options_.id,
                                    route.message()));
  }
  if (part.left > 0 && route.ok()) {
    lock.unlock();
    CollectPart(run, side, held);
    lock.lock();
    // The child lingered already: what it sent goes up at once, and the collect brings the rest.
    if (run->waiter != nullptr && run->any_ready()) SendBatchReply(run, lock);
    return;
  }
  if (part.left > 0) {  // the route failed for everything still unanswered
    for (std::uint32_t i = 0; i < part.answered.size(); ++i) {
      if (part.answered[i]) continue;
      part.answered[i] = true;
      run->Add(part.index.empty() ? i : part.index[i], false, {route, {}});
    }
    part.left = 0;
  }
  --run->parts_out;
  Deliver(run, lock);
}

void Node::RunBatchSelf(const std::shared_ptr<BatchRun>& run, std::vector<OwnGroup> groups) {
  auto work = std::make_shared<OwnWork>();
  work->run = run;
  std::vector<std::pair<std::uint32_t, Status>> refused;  // by the fence: index, why
  bool first_in_line = false;
  {
    std::lock_guard lock(own_mu_);
    for (OwnGroup& g : groups) {
      const auto n = static_cast<std::uint32_t>(g.ops.size());
      Status admitted = fence_.Admit(g.order, n, options_.id);
      for (std::uint32_t i = 0; i < n; ++i) {
        if (!admitted.ok()) {
          refused.emplace_back(g.first + i, admitted);
          continue;
        }
        work->ops.push_back(std::move(g.ops[i]));
        work->indices.push_back(g.first + i);
      }
    }
    if (!work->ops.empty()) {
      own_queue_.push_back(work);
      first_in_line = own_queue_.size() == 1;
    }
  }
  if (!refused.empty()) {
    spdlog::info("node {}: {}", options_.id, refused.front().second.message());
    std::unique_lock lock(run->mu);
    for (const auto& [index, why] : refused) run->Add(index, true, {why, {}});
    if (work->ops.empty()) {
      --run->parts_out;
      return Deliver(run, lock);
    }
  }
  if (first_in_line) RunOwnFrom(std::move(work));
}

void Node::RunOwnFrom(std::shared_ptr<OwnWork> work) {
  while (work) {
    WorkerPool* pool = PoolFor(work->ops);
    if (pool == nullptr) {
      FinishOwn(*work, RunOps(work->ops, nullptr));
    } else {
      Status queued = pool->Post([this, work] {
        FinishOwn(*work, RunOps(work->ops, nullptr));
        RunOwnFrom(NextOwn());
      });
      if (queued.ok()) return;
      // The queue goes on past work no worker could take.
      FinishOwn(*work, std::vector<OpResult>(work->ops.size(), OpResult{NoWorker(queued), {}}));
    }
    work = NextOwn();
  }
}

// The front of the queue is done: the next, if any, is the caller's to run.
std::shared_ptr<Node::OwnWork> Node::NextOwn() {
  std::lock_guard lock(own_mu_);
  own_queue_.pop_front();
  return own_queue_.empty() ? nullptr : own_queue_.front();
}

void Node::FinishOwn(const OwnWork& work, std::vector<OpResult> results) {
  const std::size_t room = config_.max_message_bytes - kBatchReplyHeaderBytes;
  std::unique_lock lock(work.run->mu);
  for (std::size_t i = 0; i < results.size(); ++i) {
    CapAnswer(results[i], room);
    work.run->Add(work.indices[i], true, results[i]);
  }
  --work.run->parts_out;
  Deliver(work.run, lock);
}

void Node::Deliver(const std::shared_ptr<BatchRun>& run, std::unique_lock<std::mutex>& lock) {
  if (run->waiter == nullptr) return;
  const bool any = run->any_ready();
  if (run->parts_out == 0 || (any && !run->first)) return SendBatchReply(run, lock);
  if (!any || run->linger_armed || closing_) return;
  run->linger_armed = true;
  std::weak_ptr<BatchRun> weak = run;
  Status armed = timers_.After(Clock::now() + kLinger + run->ops * kLingerPerOp, [this, weak] {
    std::shared_ptr<BatchRun> r = weak.lock();
    if (!r) return;
    std::unique_lock l(r->mu);
    if (r->first && r->waiter != nullptr && r->any_ready()) SendBatchReply(r, l);
  });
  // No timer thread to be had: the batch answers when all of it is in, as it would without
  // partial replies.
  if (!armed.ok()) spdlog::debug("node {}: no linger: {}", options_.id, armed.message());
}

// Sends the waiter as many ready answers as fit in one reply; whatever is left is held.
void Node::SendBatchReply(const std::shared_ptr<BatchRun>& run, std::unique_lock<std::mutex>& lock) {
  const std::size_t room = config_.max_message_bytes - kBatchReplyHeaderBytes;
  const std::size_t begin = run->sent == 0 ? 0 : run->ends[run->sent - 1];
  std::size_t end = begin;
  std::size_t i = run->sent;
  for (; i < run->ends.size(); ++i) {
    if (i > run->sent && run->ends[i] - begin > room) break;
    end = run->ends[i];
  }
  const auto count = static_cast<std::uint32_t>(i - run->sent);
  run->unsent -= count;
  Server::Exchange* ex = run->waiter;
  std::uint64_t id = run->waiter_id;
  run->waiter = nullptr;
  run->first = false;
  std::uint64_t release = 0;
  bool evicted = false;
  if (run->unsent > 0 && run->token == 0) {
    std::lock_guard held(held_mu_);
    run->token = next_token_++;
    if (held_.size() >= kMaxHeld) {
      // The oldest token is the smallest: tokens only grow.
      held_.erase(std::min_element(held_.begin(), held_.end(), [](const auto& a, const auto& b) {
        return a.first < b.first;
      }));
      evicted = true;
    }
    held_.emplace(run->token, run);
    std::uint64_t token = run->token;
    if (!closing_) {
      (void)timers_.After(run->deadline + kHoldGrace, [this, token] { ExpireHeld(token); });
    }
  } else if (run->unsent == 0) {
    release = run->token;
  }
  std::string front = BatchReplyFront(id, Status::Ok(), run->unsent > 0 ? run->token : 0, count);
  nng_msg* msg = NewMessage(front.size() + (end - begin));
  if (msg != nullptr) {
    auto* out = static_cast<char*>(nng_msg_body(msg));
    std::memcpy(out, front.data(), front.size());
    std::memcpy(out + front.size(), run->ready.data() + begin, end - begin);
  }
  run->sent = i;
  if (run->sent == run->ends.size()) {
    run->ready.clear();
    run->ends.clear();
    run->sent = 0;
  }
  lock.unlock();
  if (release != 0) {
    std::lock_guard held(held_mu_);
    held_.erase(release);
  }
  if (evicted) spdlog::warn("node {}: more than {} batches held; dropped the oldest", options_.id, kMaxHeld);
  if (msg != nullptr) return server_->Reply(ex, msg), lock.lock();
  BatchReply failed;
  failed.id = id;
  failed.route = Internal(fmt::format("node {}: out of memory for a reply", options_.id));
  server_->Reply(ex, EncodeBatchReply(failed));
  lock.lock();
}

void Node::OnCollect(Server::Exchange* ex, nng_msg* msg) {
  Result<Collect> c = DecodeCollect(Body(msg));
  nng_msg_free(msg);
  BatchReply refused;
  if (!c.ok()) {
    refused.route = c.status();
    return server_->Reply(ex, EncodeBatchReply(refused));
  }
  refused.id = c->id;
  std::shared_ptr<BatchRun> run;
  {
    std::lock_guard held(held_mu_);
    if (auto it = held_.find(c->token); it != held_.end()) run = it->second;
  }
  if (!run) {
    refused.route = NotFound(fmt::format(
        "node {} holds no answers under token {} (collected, expired or dropped)", options_.id,
        c->token));
    return server_->Reply(ex, EncodeBatchReply(refused));
  }
  std::unique_lock lock(run->mu);
  if (run->waiter != nullptr) {
    lock.unlock();
    refused.route = FailedPrecondition(fmt::format("token {} is being collected already", c->token));
    return server_->Reply(ex, EncodeBatchReply(refused));
  }
  run->waiter = ex;
  run->waiter_id = c->id;
  Deliver(run, lock);
}

void Node::ExpireHeld(std::uint64_t token) {
  std::shared_ptr<BatchRun> run;
  {
    std::lock_guard held(held_mu_);
    auto it = held_.find(token);
    if (it == held_.end()) return;
    run = std::move(it->second);
    held_.erase(it);
  }
  std::unique_lock lock(run->mu);
  if (run->waiter == nullptr) return;
  // Someone is still waiting (a part never finished): tell them the rest is lost.
  BatchReply lost;
  lost.id = run->waiter_id;
  lost.route = Unavailable(fmt::format("node {}: no answer within the deadline", options_.id));
  Server::Exchange* ex = run->waiter;
  run->waiter = nullptr;
  lock.unlock();
  server_->Reply(ex, EncodeBatchReply(lost));
}

}  // namespace arbor
