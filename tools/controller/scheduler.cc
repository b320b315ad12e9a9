#include "scheduler.h"

#include <future>

#include <spdlog/spdlog.h>

#include "format.h"
#include "ping_series.h"

namespace arbor::controller {
namespace {

// Enough to amortise a round trip, small enough that a batch stays well inside one deadline.
constexpr std::size_t kMaxBatch = 256;
// How many unfinished creates are considered for starting, oldest first. Far more than the
// create workers can run, and it keeps each pass short however long a script of creates is.
constexpr std::size_t kCreateWindow = 256;

bool IsSeries(const Command& c) { return c.kind == CommandKind::kPing && c.count > 0; }

bool IsBarrier(CommandKind k) {
  return k == CommandKind::kRemove || k == CommandKind::kPingAll || k == CommandKind::kTree;
}

Op OpFor(const Command& c) {
  switch (c.kind) {
    case CommandKind::kPing: return {"ping", {}};
    case CommandKind::kInfo: return {"arbor.info", c.args};
    default: return {c.verb, c.args};
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
      if (job.command.kind == CommandKind::kCreate) s.creates[job.seq] = job.command.id;
      s.queues[job.command.id].push_back(std::move(job));
      ++s.queued;
    }
    Pump(actions);
  }
  for (auto& a : actions) a();
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
    if (!head.creates.empty()) StartCreates(head, actions);
    // StartBatch may erase the entry it starts from, so step past it first.
    for (auto it = head.queues.begin(); it != head.queues.end();) {
      auto at = it++;
      if (!busy_.count(at->first) && at->second.front().command.kind != CommandKind::kCreate) {
        StartBatch(at->first, head, actions);
      }
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

void Scheduler::StartBatch(NodeId target, Segment& segment, Actions& actions) {
  std::deque<Job>& queue = segment.queues[target];
  if (IsSeries(queue.front().command)) return StartSeries(target, segment, actions);
  // A batch stays under half the message limit, so commands that fit alone also fit together;
  // a single command too large for any message still goes alone and gets its own error.
  const std::size_t byte_budget = deployment_.config().max_message_bytes / 2;
  std::size_t bytes = 0;
  auto jobs = std::make_shared<std::vector<Job>>();
  while (!queue.empty() && jobs->size() < kMaxBatch &&
         queue.front().command.kind != CommandKind::kCreate && !IsSeries(queue.front().command)) {
    std::size_t size = ApproxEncodedSize(queue.front().command);
    if (!jobs->empty() && bytes + size > byte_budget) break;
    bytes += size;
    jobs->push_back(std::move(queue.front()));
    queue.pop_front();
  }
  std::size_t n = jobs->size();
  segment.queued -= n;
  if (queue.empty()) segment.queues.erase(target);  // only queues with work stay
  busy_.insert(target);
  ++in_flight_;
  actions.push_back([this, target, jobs] {
    if (!deployment_.Contains(target)) {
      for (Job& j : *jobs) {
        j.done(j.command.kind == CommandKind::kPing ? ErrorOutcome(NotFound("Not found"))
                                                    : NotFoundVerbOutcome(target));
      }
      return FinishBatch(target);
    }
    std::vector<Op> ops;
    for (const Job& j : *jobs) ops.push_back(OpFor(j.command));
    deployment_.Send(target, std::move(ops), [this, target, jobs](Result<Reply> r) {
      for (std::size_t i = 0; i < jobs->size(); ++i) {
        Job& j = (*jobs)[i];
        if (!r.ok()) {
          j.done(Answer(j.command, r.status(), nullptr));
        } else {
          const OpResult* op = i < r->results.size() ? &r->results[i] : nullptr;
          j.done(Answer(j.command, r->route, op));
        }
      }
      FinishBatch(target);
    });
  });
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
    deployment_.Send(c.id, {OpFor(c)},
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
