#include "arbor_measure.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "deployment.h"
#include "format.h"
#include "scheduler.h"

namespace arbor::bench {
namespace {

using controller::Command;
using controller::CommandKind;
using controller::Deployment;
using controller::Outcome;
using controller::PlainLine;
using controller::Scheduler;
using controller::VerbCatalog;

std::string NodeBinary() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "arbor-node").string();
}

std::unique_ptr<Deployment> NewDeployment(const std::optional<Config>& config = std::nullopt) {
  if (config) return std::make_unique<Deployment>(*config, NodeBinary());
  Result<Config> c = LoadDefaultConfig();
  if (!c.ok()) throw std::runtime_error("the embedded config: " + c.status().ToString());
  return std::make_unique<Deployment>(*c, NodeBinary());
}

// Throws rather than exits: the callers' destructors (the deployment's, a lab's) must run.
void CreateOrDie(Deployment& d, NodeId id) {
  Result<pid_t> r = d.Create(id);
  if (!r.ok()) throw std::runtime_error(fmt::format("create {}: {}", id, r.status().ToString()));
}

Command MakeCommand(Op op, NodeId target, int i) {
  Command c;
  c.id = target;
  if (op == Op::kPing) {
    c.kind = CommandKind::kPing;
    return c;
  }
  c.kind = CommandKind::kVerb;
  c.verb = "exec";
  c.args = {"k" + std::to_string(i % 64)};
  if (op == Op::kSet) c.args.push_back(std::to_string(i));
  return c;
}

bool Expected(Op op, NodeId target, const std::string& line) {
  if (op == Op::kPing) return line == "Ok: 1";
  return line.rfind(fmt::format("Ok:{}", target), 0) == 0;
}

// A closed loop: `inflight` commands outstanding, each completion submits the next.
class Loop {
 public:
  Loop(int count, std::function<void(int, std::function<void(const std::string&)>)> submit)
      : count_(count), submit_(std::move(submit)) {}

  std::vector<double> Run(int inflight) {
    samples_.reserve(count_);
    const int first = std::min(inflight, count_);
    {
      std::lock_guard lock(mu_);
      next_ = first;  // completions hand out the rest
    }
    for (int i = 0; i < first; ++i) Start(i);
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_ >= count_; });
    return std::move(samples_);
  }
  int errors() const { return errors_; }
  void Fail() { ++errors_; }

 private:
  // A completion can run inline, inside submit_ (an error answered at once, e.g. when the node
  // is gone), and it starts the next command: nested, `count` of them would overflow the stack.
  // So a Start inside another on the same thread only queues, and the outermost one runs the
  // queue (a trampoline).
  void Start(int i) {
    thread_local bool active = false;
    thread_local std::deque<std::pair<Loop*, int>> queued;
    if (active) {
      queued.emplace_back(this, i);
      return;
    }
    active = true;
    Launch(i);
    while (!queued.empty()) {
      auto [loop, next] = queued.front();
      queued.pop_front();
      loop->Launch(next);
    }
    active = false;
  }
  void Launch(int i) {
    auto t0 = Clock::now();
    submit_(i, [this, t0](const std::string&) { Finish(t0); });
  }
  void Finish(Clock::time_point t0) {
    double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    int mine = -1;
    {
      std::lock_guard lock(mu_);
      samples_.push_back(us);
      if (++done_ == count_) cv_.notify_one();
      if (next_ < count_) mine = next_++;
    }
    if (mine >= 0) Start(mine);
  }
  int count_;
  std::function<void(int, std::function<void(const std::string&)>)> submit_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<double> samples_;
  int next_ = 0, done_ = 0;
  std::atomic<int> errors_{0};
};

long StatusField(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return -1;
}

// SIGSTOP and wait until every thread is stopped: a stop takes milliseconds to spread under load,
// and a command sent meanwhile would be answered and measure nothing.
void StopAndWait(pid_t pid) {
  kill(pid, SIGSTOP);
  for (int i = 0; i < 5000; ++i) {
    bool all = true;
    for (const auto& t : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid))) {
      std::ifstream in(t.path() / "stat");
      std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto close = s.rfind(')');
      all &= close != std::string::npos && s.size() > close + 2 && s[close + 2] == 'T';
    }
    if (all) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

extern "C" char** environ;

// Starts arbor-bench-floor (floor_node.cc) with the plugins a node loads, waits for its
// "ready", and returns its VmRSS in KB; -1 if it could not be run.
long FloorRssKb() {
  namespace fs = std::filesystem;
  fs::path bin = fs::read_symlink("/proc/self/exe").parent_path();
  std::vector<std::string> args = {(bin / "arbor-bench-floor").string(),
                                   fmt::format("abstract://arbor-floor/{}", getpid())};
  for (const char* p : {"dictionary", "ping"}) {
    args.push_back((bin / ".." / "lib" / "arbor" / "plugins" / fmt::format("libarbor_{}.so", p))
                       .lexically_normal()
                       .string());
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe(out) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  pid_t pid = -1;
  int rv = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  long rss = -1;
  char buf[16];
  if (rv == 0 && read(out[0], buf, sizeof buf) > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // idle, as the nodes are
    rss = StatusField(pid, "VmRSS");
  }
  close(out[0]);
  if (rv == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  return rss;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

Op ParseOp(const std::string& name) {
  if (name == "get") return Op::kGet;
  if (name == "set") return Op::kSet;
  return Op::kPing;
}

Figures MeasureRoundTrip(int depth, Op op, int inflight, int count, bool coalesce,
                         const ChainSetup& setup) {
  auto d = NewDeployment(setup.config);
  for (int id = 1; id <= depth; ++id) CreateOrDie(*d, id);
  if (setup.check) setup.check(*d);
  const NodeId target = depth;
  VerbCatalog verbs;
  Scheduler scheduler(*d, verbs);
  Loop* loop_ptr = nullptr;
  auto check = [&](bool ok, const std::string& line) {
    // Every answer is checked; a benchmark of wrong answers measures nothing.
    if (!ok && loop_ptr->errors() < 5) fmt::print(stderr, "unexpected answer: {}\n", line);
    if (!ok) loop_ptr->Fail();
  };
  Loop loop(count, [&](int i, std::function<void(const std::string&)> done) {
    Command c = MakeCommand(op, target, i);
    if (coalesce) {
      scheduler.Submit(std::move(c), [done, check, op, target](Outcome o) {
        std::string line = PlainLine(o);
        check(Expected(op, target, line), line);
        done(line);
      });
      return;
    }
    arbor::Op wire = op == Op::kPing ? arbor::Op{"ping", {}} : arbor::Op{"exec", c.args};
    d->Send(target, {wire}, [done, check](Result<Reply> r) {
      bool ok = r.ok() && r->route.ok() && r->results.size() == 1 && r->results[0].status.ok();
      check(ok, ok ? "" : (r.ok() ? r->route.ToString() : r.status().ToString()));
      done("");
    });
  });
  loop_ptr = &loop;
  // Warm-up: connections, caches and the scheduler's maps.
  { Loop warm(std::min(count, 200), [&](int i, std::function<void(const std::string&)> done) {
      scheduler.Submit(MakeCommand(op, target, i), [done](Outcome o) { done(PlainLine(o)); });
    });
    warm.Run(1);
  }
  auto start = Clock::now();
  std::vector<double> samples = loop.Run(inflight);
  Figures f = Summarise(std::move(samples), Clock::now() - start);
  if (loop.errors() > 0) throw std::runtime_error(fmt::format("{} wrong answers", loop.errors()));
  return f;
}

void MeasureFailure(int repeats) {
  for (int r = 0; r < repeats; ++r) {
    auto d = NewDeployment();
    for (NodeId id : {10, 5, 15, 3}) CreateOrDie(*d, id);
    VerbCatalog verbs;
    Scheduler scheduler(*d, verbs);
    auto run = [&](Command c) {
      std::mutex mu;
      std::condition_variable cv;
      std::string out;
      bool done = false;
      scheduler.Submit(std::move(c), [&](Outcome o) {
        std::lock_guard lock(mu);
        out = PlainLine(o);
        done = true;
        cv.notify_one();
      });
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return done; });
      return out;
    };
    Command ping5;
    ping5.kind = CommandKind::kPing;
    ping5.id = 5;
    // kill -9, then ping at once: the answer must come from connection loss.
    auto t0 = Clock::now();
    kill(*d->PidOf(5), SIGKILL);
    std::string killed = run(ping5);
    double kill_ms = Ms(Clock::now() - t0);
    // SIGSTOP 15, send to it, and 1 ms later to the healthy root.
    StopAndWait(*d->PidOf(15));
    std::atomic<double> stopped_ms{0}, healthy_ms{0};
    std::string stopped_answer;
    std::thread hung([&] {
      auto s0 = Clock::now();
      stopped_answer = run(MakeCommand(Op::kGet, 15, 0));
      stopped_ms = Ms(Clock::now() - s0);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto h0 = Clock::now();
    run(MakeCommand(Op::kGet, 10, 0));
    healthy_ms = Ms(Clock::now() - h0);
    hung.join();
    kill(*d->PidOf(15), SIGCONT);
    EmitRaw("failure", {{"kill_to_ping_ms", fmt::format("{:.2f}", kill_ms)},
                        {"ping_answer", fmt::format("\"{}\"", killed)},
                        {"stopped_command_ms", fmt::format("{:.1f}", stopped_ms.load())},
                        {"stopped_answer", fmt::format("\"{}\"", stopped_answer)},
                        {"deadline_ms", std::to_string(d->config().request_ms)},
                        {"healthy_meanwhile_ms", fmt::format("{:.2f}", healthy_ms.load())}});
  }
}

// Creates go through the Scheduler, as the controller's own `create` lines do: creates that
// land in different slots of the tree run at once. `sequential` waits for each before the
// next, which is the baseline the concurrency is measured against.
void MeasureScale(int nodes, unsigned seed, bool sequential) {
  auto d = NewDeployment();
  std::mt19937_64 rng(seed);
  std::set<NodeId> ids;
  std::vector<NodeId> order;
  while (static_cast<int>(order.size()) < nodes) {
    NodeId id = static_cast<NodeId>(rng() % 1000000);
    if (ids.insert(id).second) order.push_back(id);
  }
  VerbCatalog verbs;
  std::vector<std::string> answers(order.size());
  auto t0 = Clock::now();
  {
    Scheduler scheduler(*d, verbs);
    for (std::size_t i = 0; i < order.size(); ++i) {
      Command c;
      c.kind = CommandKind::kCreate;
      c.id = order[i];
      scheduler.Submit(std::move(c), [&answers, i](Outcome o) { answers[i] = PlainLine(o); });
      if (sequential) scheduler.Drain();
    }
    scheduler.Drain();
  }
  double create_s = std::chrono::duration<double>(Clock::now() - t0).count();
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (answers[i].rfind("Ok: ", 0) != 0) {
      fmt::print(stderr, "create {}: {}\n", order[i], answers[i]);
      std::exit(1);
    }
  }
  // The tree must be the one BST insertion in this order builds, whatever ran concurrently:
  // every node's process is the child of its BST parent's process.
  controller::TreeModel expected;
  for (NodeId id : order) expected.Insert(id, 0);
  for (NodeId id : order) {
    std::optional<NodeId> parent = expected.Find(id)->parent;
    pid_t want = parent ? *d->PidOf(*parent) : getpid();
    long got = StatusField(*d->PidOf(id), "PPid");
    if (got != want) {
      fmt::print(stderr, "node {}: parent process {} (expected {})\n", id, got, want);
      std::exit(1);
    }
  }
  // pingall and tree each sweep the whole tree; one call is at the mercy of a shared machine, so
  // each figure is the median of a few, taken in turns. tree is timed as the controller's `tree`
  // runs it (Scheduler::RunBarrier): the rows, then the text.
  constexpr int kSweeps = 5;
  std::vector<double> pingall_ms, tree_ms;
  std::vector<NodeId> down;
  std::size_t tree_rows = 0;
  for (int i = 0; i < kSweeps; ++i) {
    auto p0 = Clock::now();
    down = d->Unreachable();
    pingall_ms.push_back(Ms(Clock::now() - p0));
    auto t0 = Clock::now();
    std::vector<controller::TreeRow> rows = d->TreeRows();
    std::string text = controller::TreeText(rows);
    tree_ms.push_back(Ms(Clock::now() - t0));
    tree_rows = rows.size();
  }
  if (tree_rows != order.size()) {
    fmt::print(stderr, "tree: {} rows (expected {})\n", tree_rows, order.size());
    std::exit(1);
  }
  std::sort(pingall_ms.begin(), pingall_ms.end());
  std::sort(tree_ms.begin(), tree_ms.end());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the nodes settle idle
  std::vector<long> rss, threads;
  for (NodeId id : order) {
    pid_t pid = *d->PidOf(id);
    rss.push_back(StatusField(pid, "VmRSS"));
    threads.push_back(StatusField(pid, "Threads"));
  }
  std::sort(rss.begin(), rss.end());
  std::sort(threads.begin(), threads.end());
  const long floor_kb = FloorRssKb();
  EmitRaw(sequential ? "scale_sequential" : "scale",
                   {{"nodes", std::to_string(nodes)},
                    {"create_s", fmt::format("{:.2f}", create_s)},
                    {"pingall_ms", fmt::format("{:.1f}", pingall_ms[kSweeps / 2])},
                    {"tree_ms", fmt::format("{:.1f}", tree_ms[kSweeps / 2])},
                    {"unreachable", std::to_string(down.size())},
                    {"rss_kb_median", std::to_string(rss[rss.size() / 2])},
                    {"rss_kb_max", std::to_string(rss.back())},
                    {"floor_rss_kb", std::to_string(floor_kb)},
                    {"threads_median", std::to_string(threads[threads.size() / 2])}});
}

}  // namespace arbor::bench
