#include "scheduler.h"

#include <future>

#include <spdlog/spdlog.h>

#include "format.h"
#include "ping_series.h"

namespace arbor::controller {
namespace {

// How many unfinished creates are considered for starting, oldest first. Far more than the
// create workers can run, and it keeps each pass short however long a script of creates is.
constexpr std::size_t kCreateWindow = 256;

bool IsSeries(const Command& c) { return c.kind == CommandKind::kPing && c.count > 0; }

bool IsBarrier(CommandKind k) {
  return k == CommandKind::kRemove || k == CommandKind::kPingAll || k == CommandKind::kTree;
}

// The operation a command sends, taking its verb and arguments out of `c`.
Op TakeOp(Command& c) {
  switch (c.kind) {
    case CommandKind::kPing: return {"ping", {}};
    case CommandKind::kInfo: return {"arbor.info", std::move(c.args)};
    default: return {std::move(c.verb), std::move(c.args)};
  }
}

std::size_t ApproxEncodedSize(const Command& c) {
  std::size_t n = 8 + c.verb.size();
  for (const std::string& a : c.args) n += 4 + a.size();
  return n;
}

// Why a probe got no answer, or OK.
Status ProbeStatus(const Result<Reply>& r) {
  if (!r.ok()) return r.status();
  if (!r->route.ok()) return r->route;
  if (r->results.empty()) return Unavailable("the node sent no result");
  return r->results[0].status;
}

Outcome Answer(const Command& c, const Status& route, const OpResult* op) {
  return c.kind == CommandKind::kPing ? PingOutcome(c.id, route, op) : VerbOutcome(c.id, route, op);
}

constexpr std::size_t kBatchSlack = 256;
constexpr std::size_t kGroupBytes = 12;  // a group's target and count (batch.h)

bool Batchable(const Command& c) { return c.kind != CommandKind::kCreate && !IsSeries(c); }

// What the nodes would refuse as malformed, said per command, so that one bad command never
// fails the others of its batch.
Status CheckCommand(const Command& c) {
  bool over = c.args.size() > kMaxArgsPerOp;
  for (const std::string& a : c.args) over |= a.size() > kMaxStringBytes;
  if (!over) return Status::Ok();
  Request one;
  one.ops.push_back({c.verb, c.args});
  return CheckRequestLimits(one);
}

}  // namespace

Scheduler::Scheduler(Deployment& deployment, const VerbCatalog& verbs)
    : deployment_(deployment), verbs_(verbs) {
  // remove, pingall and tree must still run when the host has no task to spare (that is when
  // they are needed most), and so must creates, if only to say why they fail: one thread each
  // starts now, the others on demand.
  for (WorkerPool* pool : {&barrier_worker_, &create_workers_}) {
    if (Status s = pool->Reserve(1); !s.ok()) spdlog::warn("{}", s.message());
  }
}

Scheduler::~Scheduler() { Drain(); }

void Scheduler::Submit(Command command, Done done) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    Job job{std::move(command), std::move(done), next_seq_++};
    if (IsBarrier(job.command.kind)) {
      Segment s;
      s.barrier = true;
      s.barrier_job = std::move(job);
      segments_.push_back(std::move(s));
    } else {
      if (segments_.empty() || segments_.back().barrier) segments_.emplace_back();
      Segment& s = segments_.back();
      const NodeId id = job.command.id;
      if (job.command.kind == CommandKind::kCreate) {
        s.creates[job.seq] = id;
        creates_changed_ = true;
      }
      s.queues[id].push_back(std::move(job));
      ++s.queued;
      Listed(s, id);
    }
    Pump(actions);
  }
  for (auto& a : actions) a();
}

void Scheduler::Hold() {
  std::lock_guard lock(mu_);
  held_ = true;
}

void Scheduler::Release() {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    if (!held_) return;
    held_ = false;
    Pump(actions);
  }
  for (auto& a : actions) a();
}

Scheduler::Stats Scheduler::stats() {
  std::lock_guard lock(mu_);
  return stats_;
}

void Scheduler::Drain() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return segments_.empty() && in_flight_ == 0; });
}

// Starts whatever may start now. Runs under mu_; what it starts is returned in `actions` and
// run after the lock is released, because a send can complete inline.
void Scheduler::Pump(Actions& actions) {
  while (!segments_.empty()) {
    Segment& head = segments_.front();
    if (head.barrier) {
      if (barrier_running_ || in_flight_ > 0) return;
      barrier_running_ = true;
      ++in_flight_;
      auto job = std::make_shared<Job>(std::move(head.barrier_job));
      actions.push_back([this, job] {
        Status queued = barrier_worker_.Post([this, job] {
          job->done(RunBarrier(job->command));
          FinishBarrier();
        });
        if (queued.ok()) return;
        job->done(ErrorOutcome(queued));
        FinishBarrier();
      });
      return;
    }
    // Only a new create or a finished command can let a create start: StartCreates costs a
    // look at the tree model, too much to pay for every command submitted behind a create.
    if (!head.creates.empty() && creates_changed_) StartCreates(head, actions);
    creates_changed_ = false;
    while (StartQueued(head, actions)) {
    }
    if (head.queued > 0 || in_flight_ > 0) return;
    segments_.pop_front();
  }
  idle_cv_.notify_all();
}

// Walks the unfinished creates in submission order; each claims the slot it would land in
// now. A create starts when it is first to claim its slot and first in its node's queue.
void Scheduler::StartCreates(Segment& segment, Actions& actions) {
  std::vector<std::pair<std::uint64_t, NodeId>> window;
  std::vector<NodeId> ids;
  for (const auto& [seq, id] : segment.creates) {
    if (window.size() == kCreateWindow) break;
    window.emplace_back(seq, id);
    ids.push_back(id);
  }
  std::vector<std::optional<TreeModel::Slot>> slots = deployment_.SlotsFor(ids);
  std::set<TreeModel::Slot> claimed;
  for (std::size_t i = 0; i < window.size(); ++i) {
    const auto [seq, id] = window[i];
    const std::optional<TreeModel::Slot>& slot = slots[i];
    // No slot: the id exists, and the create will say so; it blocks no other create.
    bool first = !slot || claimed.insert(*slot).second;
    // A running create keeps its id busy, so it is skipped here too.
    if (!first || busy_.count(id)) continue;
    auto q = segment.queues.find(id);
    if (q == segment.queues.end() || q->second.front().seq != seq) continue;
    auto job = std::make_shared<Job>(std::move(q->second.front()));
    q->second.pop_front();
    if (q->second.empty()) segment.queues.erase(q);
    --segment.queued;
    busy_.insert(id);
    ++in_flight_;
    // Copies, not captures of the structured bindings: clang before 16 cannot capture those.
    actions.push_back([this, job, id = id, seq = seq] {
      Status queued = create_workers_.Post([this, job, id, seq] {
        job->done(CreateOutcome(deployment_.Create(id)));
        FinishCreate(id, seq);
      });
      if (queued.ok()) return;
      job->done(ErrorOutcome(queued));
      FinishCreate(id, seq);
    });
  }
}

struct Scheduler::Batch {
  struct Group {
    NodeId target = 0;
    std::uint32_t left = 0;  // commands without an answer yet
  };
  std::vector<Job> jobs;                // grouped by target, each group in submission order
  std::vector<std::uint32_t> group_of;  // per job
  std::vector<Group> groups;
  std::vector<std::uint32_t> wire;      // wire index -> job
  std::vector<bool> answered;           // per job
  bool slot = true;                     // counts in batches_out_; guarded by mu_
  Deadline deadline;
};

void Scheduler::Listed(Segment& segment, NodeId target) {
  if (segment.queues.count(target) && segment.listed.insert(target).second) {
    segment.startable.push_back(target);
  }
}

bool Scheduler::StartQueued(Segment& segment, Actions& actions) {
  if (segment.startable.empty() || batches_out_ >= kMaxBatchesOut) return false;
  if (held_ && segment.queued < kHeldBatchOps) return false;
  // A batch fills a message (ApproxEncodedSize overestimates a little, and kBatchSlack covers
  // the batch's own header); a single command too large for any message still goes alone and
  // gets its own error.
  const std::size_t max_bytes = deployment_.config().max_message_bytes;
  const std::size_t byte_budget = max_bytes > 2 * kBatchSlack ? max_bytes - kBatchSlack : max_bytes / 2;
  std::size_t bytes = 0;
  std::shared_ptr<Batch> batch;
  std::vector<NodeId> keep;  // left for the next batch: this one is full
  for (NodeId id : segment.startable) {
    auto q = segment.queues.find(id);
    if (q == segment.queues.end() || busy_.count(id)) {
      segment.listed.erase(id);  // listed again when it has work and is free
      continue;
    }
    const Command& front = q->second.front().command;
    if (front.kind == CommandKind::kCreate) {  // StartCreates starts it, when its slot is free
      segment.listed.erase(id);
      continue;
    }
    if (IsSeries(front)) {
      segment.listed.erase(id);
      StartSeries(id, segment, actions);
      continue;
    }
    if (batch && (batch->jobs.size() >= kMaxBatchOps || bytes >= byte_budget)) {
      keep.push_back(id);
      continue;
    }
    if (!batch) batch = std::make_shared<Batch>();
    std::deque<Job>& queue = q->second;
    const auto group = static_cast<std::uint32_t>(batch->groups.size());
    batch->groups.push_back({id, 0});
    bytes += kGroupBytes;
    while (!queue.empty() && batch->jobs.size() < kMaxBatchOps && Batchable(queue.front().command)) {
      std::size_t size = ApproxEncodedSize(queue.front().command);
      if (!batch->jobs.empty() && bytes + size > byte_budget) break;
      bytes += size;
      batch->jobs.push_back(std::move(queue.front()));
      batch->group_of.push_back(group);
      ++batch->groups.back().left;
      queue.pop_front();
      --segment.queued;
    }
    if (batch->groups.back().left == 0) {  // nothing fitted after all
      batch->groups.pop_back();
      keep.push_back(id);
      continue;
    }
    if (queue.empty()) segment.queues.erase(q);  // only queues with work stay
    segment.listed.erase(id);
    busy_.insert(id);
    ++in_flight_;
  }
  segment.startable = std::move(keep);
  if (!batch) return false;
  ++batches_out_;
  ++stats_.batches;
  stats_.batched += batch->jobs.size();
  actions.push_back([this, batch] { SendBatch(batch); });
  return true;
}

// Outside mu_. Commands to nodes the tree does not have, or too large to send, are answered
// here; the others go to the root as one batch.
void Scheduler::SendBatch(std::shared_ptr<Batch> batch) {
  const std::size_t n = batch->jobs.size();
  batch->answered.assign(n, false);
  std::vector<NodeId> finished;
  auto answer_here = [&](std::uint32_t j, Outcome o) {
    batch->answered[j] = true;
    batch->jobs[j].done(std::move(o));
    if (--batch->groups[batch->group_of[j]].left == 0) {
      finished.push_back(batch->groups[batch->group_of[j]].target);
    }
  };
  BatchRequest request;
  std::optional<NodeId> known;  // the last target found in the tree: jobs come grouped by it
  for (std::uint32_t j = 0; j < n; ++j) {
    Command& c = batch->jobs[j].command;
    if (known != c.id && deployment_.Contains(c.id)) known = c.id;
    if (known != c.id) {
      answer_here(j, c.kind == CommandKind::kPing ? ErrorOutcome(NotFound("Not found"))
                                                  : NotFoundVerbOutcome(c.id));
      continue;
    }
    if (Status s = CheckCommand(c); !s.ok()) {
      answer_here(j, Answer(c, s, nullptr));
      continue;
    }
    if (request.groups.empty() || request.groups.back().target != c.id) {
      request.groups.push_back({c.id, {}, {}});
    }
    // The command's verb and arguments are not needed after this: its answer needs only its
    // kind and id.
    request.groups.back().ops.push_back(TakeOp(c));
    batch->wire.push_back(j);
  }
  if (batch->wire.empty()) return FinishTargets(finished, batch.get());
  if (!finished.empty()) FinishTargets(finished, nullptr);
  std::weak_ptr<Batch> weak = batch;
  Status timed = timers_.After(Clock::now() + kBatchSlot, [this, weak] {
    if (std::shared_ptr<Batch> b = weak.lock()) FinishTargets({}, b.get());
  });
  // Without a timer thread, a batch keeps its slot until its first reply.
  if (!timed.ok()) spdlog::debug("batch slots: {}", timed.message());
  // A little longer than the budget, so a hop inside the tree reports a hung node before the
  // controller's own timer fires.
  batch->deadline = DeadlineIn(std::chrono::milliseconds(deployment_.config().request_ms + 50));
  deployment_.SendBatch(std::move(request), batch->deadline,
                        [this, batch](Result<BatchReply> r) { OnBatchReply(batch, std::move(r)); });
}

// On an nng thread (or inline). A batch's replies come one at a time: the next collect is sent
// only from here, after this one is handled.
void Scheduler::OnBatchReply(const std::shared_ptr<Batch>& batch, Result<BatchReply> reply) {
  std::vector<NodeId> finished;
  auto answer = [&](std::uint32_t j, const Status& route, const OpResult* op) {
    batch->answered[j] = true;
    Job& job = batch->jobs[j];
    job.done(Answer(job.command, route, op));
    if (--batch->groups[batch->group_of[j]].left == 0) {
      finished.push_back(batch->groups[batch->group_of[j]].target);
    }
  };
  Status rest = reply.ok() ? Status::Ok() : reply.status();
  std::uint64_t held = 0;
  if (reply.ok()) {
    for (const BatchEntry& e : reply->entries) {
      if (e.index >= batch->wire.size()) continue;
      std::uint32_t j = batch->wire[e.index];
      if (batch->answered[j]) continue;
      if (e.ran) {
        answer(j, Status::Ok(), &e.result);
      } else {
        answer(j, e.result.status, nullptr);
      }
    }
    rest = reply->route;
    held = rest.ok() ? reply->held : 0;
  }
  bool pending = false;
  for (std::uint32_t j : batch->wire) pending |= !batch->answered[j];
  if (pending && held == 0) {
    if (rest.ok()) rest = Internal("the tree sent no answer for this command");
    for (std::uint32_t j : batch->wire) {
      if (!batch->answered[j]) answer(j, rest, nullptr);
    }
    pending = false;
  }
  FinishTargets(finished, batch.get());
  if (!pending) return;
  {
    std::lock_guard lock(mu_);
    ++stats_.collects;
  }
  deployment_.Collect(held, batch->deadline,
                      [this, batch](Result<BatchReply> r) { OnBatchReply(batch, std::move(r)); });
}

void Scheduler::FinishTargets(const std::vector<NodeId>& targets, Batch* batch) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    for (NodeId t : targets) {
      busy_.erase(t);
      --in_flight_;
      if (!segments_.empty() && !segments_.front().barrier) Listed(segments_.front(), t);
    }
    if (!targets.empty()) creates_changed_ = true;
    if (batch != nullptr && batch->slot) {
      batch->slot = false;
      --batches_out_;
    }
    Pump(actions);
  }
  for (auto& a : actions) a();
}

void Scheduler::StartSeries(NodeId target, Segment& segment, Actions& actions) {
  std::deque<Job>& queue = segment.queues[target];
  auto job = std::make_shared<Job>(std::move(queue.front()));
  queue.pop_front();
  --segment.queued;
  if (queue.empty()) segment.queues.erase(target);
  busy_.insert(target);
  ++in_flight_;
  actions.push_back([this, target, job] {
    Status queued = series_workers_.Post([this, target, job] {
      job->done(RunSeries(job->command));
      FinishBatch(target);
    });
    if (queued.ok()) return;
    job->done(ErrorOutcome(queued));
    FinishBatch(target);
  });
}

void Scheduler::StopSeries() {
  std::lock_guard lock(series_mu_);
  ++series_stops_;
  series_cv_.notify_all();
}

void Scheduler::EndSeries() {
  std::lock_guard lock(series_mu_);
  series_ended_ = true;
  series_cv_.notify_all();
}

// Each probe is one ping sent alone (never coalesced), timed from send to answer; probes start
// every interval_ms, or at once after an answer slower than that.
Outcome Scheduler::RunSeries(const Command& c) {
  using Clock = std::chrono::steady_clock;
  if (!deployment_.Contains(c.id)) return ErrorOutcome(NotFound("Not found"));
  std::unique_lock lock(series_mu_);
  const std::uint64_t epoch = series_stops_;
  auto stopped = [&] { return series_ended_ || series_stops_ != epoch; };
  lock.unlock();
  PingSeries series(c.id);
  std::string lines;
  const Clock::time_point start = Clock::now();
  Clock::time_point last_answer = start;
  for (int seq = 1; seq <= c.count; ++seq) {
    lock.lock();
    bool stop = stopped();
    lock.unlock();
    if (stop) break;
    auto answer = std::make_shared<std::promise<Result<Reply>>>();
    std::future<Result<Reply>> reply = answer->get_future();
    Clock::time_point sent = Clock::now();
    deployment_.Send(c.id, {Op{"ping", {}}},  // a series is of pings
                     [answer](Result<Reply> r) { answer->set_value(std::move(r)); });
    Result<Reply> r = reply.get();  // bounded: every request carries the deadline
    last_answer = Clock::now();
    auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(last_answer - sent);
    lines += series.Add(seq, ProbeStatus(r), rtt) + "\n";
    if (seq < c.count) {
      lock.lock();
      series_cv_.wait_until(lock, start + seq * std::chrono::milliseconds(c.interval_ms), stopped);
      lock.unlock();
    }
  }
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(last_answer - start);
  return OkOutcome(lines + series.Summary(elapsed), Outcome::Style::kText);
}

void Scheduler::FinishBatch(NodeId target) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    busy_.erase(target);
    --in_flight_;
    if (!segments_.empty() && !segments_.front().barrier) Listed(segments_.front(), target);
    creates_changed_ = true;
    Pump(actions);
  }
  for (auto& a : actions) a();
}

void Scheduler::FinishCreate(NodeId target, std::uint64_t seq) {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    // A segment is popped only when nothing of it is in flight, so this create's is the head.
    Segment& head = segments_.front();
    head.creates.erase(seq);
    busy_.erase(target);
    --in_flight_;
    Listed(head, target);
    creates_changed_ = true;
    Pump(actions);
  }
  for (auto& a : actions) a();
}

void Scheduler::FinishBarrier() {
  Actions actions;
  {
    std::lock_guard lock(mu_);
    barrier_running_ = false;
    --in_flight_;
    segments_.pop_front();
    creates_changed_ = true;
    Pump(actions);
  }
  for (auto& a : actions) a();
}

Outcome Scheduler::RunBarrier(const Command& c) {
  switch (c.kind) {
    case CommandKind::kRemove: return RemoveOutcome(deployment_.Remove(c.id));
    case CommandKind::kPingAll: return PingAllOutcome(deployment_.Unreachable());
    case CommandKind::kTree: {
      std::vector<TreeRow> rows = deployment_.TreeRows();
      if (c.dot) return OkOutcome(TreeDot(rows), Outcome::Style::kText);
      if (tree_pictures_) return OkOutcome(TreePicture(rows, tree_colour_), Outcome::Style::kText);
      return OkOutcome(TreeText(rows), Outcome::Style::kText);
    }
    default: return ErrorOutcome(Internal("internal: not a tree command"));
  }
}

}  // namespace arbor::controller
