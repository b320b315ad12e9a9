#include "scheduler.h"

#include "format.h"

namespace arbor::controller {
namespace {

// Enough to amortise a round trip, small enough that a batch stays well inside one deadline.
constexpr std::size_t kMaxBatch = 256;
// How many unfinished creates are considered for starting, oldest first. Far more than the
// create workers can run, and it keeps each pass short however long a script of creates is.
constexpr std::size_t kCreateWindow = 256;

bool IsBarrier(CommandKind k) {
  return k == CommandKind::kRemove || k == CommandKind::kPingAll || k == CommandKind::kTree;
}

Op OpFor(const Command& c) {
  switch (c.kind) {
    case CommandKind::kPing: return {"ping", {}};
    case CommandKind::kInfo: return {"arbor.info", {}};
    default: return {c.verb, c.args};
  }
}

std::size_t ApproxEncodedSize(const Command& c) {
  std::size_t n = 8 + c.verb.size();
  for (const std::string& a : c.args) n += 4 + a.size();
  return n;
}

std::string Line(const Command& c, const Status& route, const OpResult* op) {
  return c.kind == CommandKind::kPing ? FormatPing(c.id, route, op) : FormatVerb(c.id, route, op);
}

}  // namespace

Scheduler::Scheduler(Deployment& deployment, const VerbCatalog& verbs)
    : deployment_(deployment), verbs_(verbs) {}

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
      Job job = std::move(head.barrier_job);
      actions.push_back([this, job = std::move(job)]() mutable {
        barrier_worker_.Post([this, job = std::move(job)] {
          job.done(RunBarrier(job.command));
          FinishBarrier();
        });
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
    actions.push_back([this, job, id, seq] {
      create_workers_.Post([this, job, id, seq] {
        job->done(FormatCreate(deployment_.Create(id)));
        FinishCreate(id, seq);
      });
    });
  }
}

void Scheduler::StartBatch(NodeId target, Segment& segment, Actions& actions) {
  std::deque<Job>& queue = segment.queues[target];
  // A batch stays under half the message limit, so commands that fit alone also fit together;
  // a single command too large for any message still goes alone and gets its own error.
  const std::size_t byte_budget = deployment_.config().max_message_bytes / 2;
  std::size_t bytes = 0;
  auto jobs = std::make_shared<std::vector<Job>>();
  while (!queue.empty() && jobs->size() < kMaxBatch &&
         queue.front().command.kind != CommandKind::kCreate) {
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
        j.done(j.command.kind == CommandKind::kPing ? "Error: Not found" : FormatNotFoundVerb(target));
      }
      return FinishBatch(target);
    }
    std::vector<Op> ops;
    for (const Job& j : *jobs) ops.push_back(OpFor(j.command));
    deployment_.Send(target, std::move(ops), [this, target, jobs](Result<Reply> r) {
      for (std::size_t i = 0; i < jobs->size(); ++i) {
        Job& j = (*jobs)[i];
        if (!r.ok()) {
          j.done(Line(j.command, r.status(), nullptr));
        } else {
          const OpResult* op = i < r->results.size() ? &r->results[i] : nullptr;
          j.done(Line(j.command, r->route, op));
        }
      }
      FinishBatch(target);
    });
  });
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

std::string Scheduler::RunBarrier(const Command& c) {
  switch (c.kind) {
    case CommandKind::kRemove: return FormatRemove(deployment_.Remove(c.id));
    case CommandKind::kPingAll: return FormatPingAll(deployment_.Unreachable());
    case CommandKind::kTree: {
      std::string out;
      for (const std::string& line : deployment_.Tree()) out += (out.empty() ? "" : "\n") + line;
      return out;
    }
    default: return "Error: internal: not a tree command";
  }
}

}  // namespace arbor::controller
