// Scheduler: decides when each command runs, so that many run at once and none runs too early.
//
// The rules, which are what a user of a REPL or a script expects:
//  - Commands to different nodes run concurrently; a hung node delays only its own commands.
//  - Commands to the same node run in the order given. While a node has commands in flight,
//    later commands to it queue.
//  - Queued commands travel in batches (batch.h): one message to the root holds the queued
//    commands of every node that has none in flight, split by route at each hop, so a script
//    that touches many nodes costs about one round trip per batch rather than per node or per
//    command. Few batches are in flight at once (kMaxBatchesOut): while they are, commands
//    gather for the next one. A batch is bounded by kMaxBatchOps and by max_message_bytes. A node's commands are answered, and the node is free for its next ones,
//    as soon as its answers come in, whatever the rest of its batch is waiting for: the root
//    holds what is late and the scheduler collects it.
//  - create is ordered with the other commands to its id, like any of them. Creates may run at
//    once when they land in different slots of the tree (TreeModel::Slot); a create whose slot
//    an earlier unfinished create takes waits for it, then lands below it, exactly where
//    running them one by one would put it. So a script of creates builds a bushy tree in
//    parallel, and a create under a hung node stalls nothing else.
//  - A ping series (ping -c N) is a command to its node like any other: it holds the node's
//    queue until its last probe, and runs on its own thread, since it waits between probes.
//  - remove, pingall and tree change or read the whole tree: each waits for every earlier
//    command to finish, and every later command waits for it.
//
// Each command's Outcome (format.h) is passed to its `done` callback, on whatever thread
// finishes it; the front end orders output. Thread-safety: Submit() and Drain() from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <string>

#include "command.h"
#include "deployment.h"
#include "format.h"
#include "arbor/timer_queue.h"
#include "arbor/worker_pool.h"

namespace arbor::controller {

class Scheduler {
 public:
  static constexpr int kCreateWorkers = 8;
  // Batches sent and not answered yet (their first reply). Batches form while these are out,
  // which is what makes them large. Two: a node's commands travel in one batch at a time (to
  // keep their order), so a script over many nodes fills the first and leaves little for the
  // second; but the second lets a command to a healthy node go at once while the first waits
  // for a hung one. (One and two measured the same over 100 nodes, bench/session.py.)
  // A batch with no reply after kBatchSlot stops counting: its commands wait for their nodes
  // (a hung one, perhaps), and the next batches need not. Its nodes stay busy, so a large
  // batch that is merely slow lets out only batches for other nodes.
  static constexpr int kMaxBatchesOut = 2;
  static constexpr std::chrono::milliseconds kBatchSlot{5};
  // Commands in one batch (the wire allows kMaxBatchOps of batch.h, twice this). Each batch
  // costs every node it passes a fixed few wake-ups, so over a tree of 100 nodes the fewer the
  // better: 20000 commands took 41-46 ms in one batch, 44-55 ms in two of at most 16384
  // (bench/session.py, commands_s). A batch this size is about 1 MB of commands and answers
  // and about 25 ms of work for the tree, far inside any deadline.
  static constexpr std::size_t kMaxBatchOps = 32768;
  // While the reader holds (Hold()), a batch leaves once this many commands are queued: early
  // enough that the tree works while the rest of a script is read.
  static constexpr std::size_t kHeldBatchOps = 4096;

  using Done = std::function<void(Outcome outcome)>;

  Scheduler(Deployment& deployment, const VerbCatalog& verbs);
  ~Scheduler();

  // `tree` draws a picture (tree_view.h) rather than the SPEC lines: for a terminal. Call
  // before the first Submit().
  void DrawTrees(bool pictures, bool colour) {
    tree_pictures_ = pictures;
    tree_colour_ = colour;
  }

  void Submit(Command command, Done done);

  // What the batches did so far: for benchmarks and tests.
  struct Stats {
    std::uint64_t batches = 0;   // batches sent
    std::uint64_t batched = 0;   // commands they carried
    std::uint64_t collects = 0;  // collects sent for answers a node held
  };
  Stats stats();
  // Blocks until every submitted command has finished.
  void Drain();
  // For a reader with more commands at hand (batch mode reading ahead): while held, queued
  // commands leave only once kHeldBatchOps are queued, so that a script becomes a few large
  // batches rather than one per round trip. Release() when the reader is about to wait for input, or has
  // reached its end. Each batch costs every node it passes a few wake-ups, so over a large tree
  // the number of batches is what the time goes to.
  void Hold();
  void Release();
  // Ends the ping series running now after their current probe (Ctrl-C, as for iputils
  // ping); each still answers with its statistics. EndSeries() also ends every later one at
  // once: for leaving, so that `exit` never waits out a long series.
  void StopSeries();
  void EndSeries();

 private:
  struct Job {
    Command command;
    Done done;
    std::uint64_t seq = 0;  // submission order
  };
  // Either one barrier command, or any number of per-node commands between two barriers.
  struct Segment {
    bool barrier = false;
    Job barrier_job;
    std::unordered_map<NodeId, std::deque<Job>> queues;  // never holds an empty queue
    std::size_t queued = 0;
    std::map<std::uint64_t, NodeId> creates;  // unfinished creates, by seq
    // Nodes whose queue may be able to start: not busy when listed. Checked again on use, so
    // an entry may be stale; `listed` keeps each node in it once.
    std::vector<NodeId> startable;
    std::unordered_set<NodeId> listed;
  };
  struct Batch;
  using Actions = std::vector<std::function<void()>>;

  void Pump(Actions& actions);
  void StartCreates(Segment& segment, Actions& actions);
  // Lists `target` as startable in `segment` if it has queued commands.
  void Listed(Segment& segment, NodeId target);
  // Starts what the startable nodes' queues allow: series, and up to one batch. False when no
  // batch started.
  bool StartQueued(Segment& segment, Actions& actions);
  void SendBatch(std::shared_ptr<Batch> batch);
  void OnBatchReply(const std::shared_ptr<Batch>& batch, Result<BatchReply> reply);
  void StartSeries(NodeId target, Segment& segment, Actions& actions);
  Outcome RunSeries(const Command& command);
  void FinishBatch(NodeId target);
  // Frees `targets` for their next commands, and `batch`'s slot if it still holds one.
  void FinishTargets(const std::vector<NodeId>& targets, Batch* batch);
  void FinishCreate(NodeId target, std::uint64_t seq);
  void FinishBarrier();
  Outcome RunBarrier(const Command& command);

  Deployment& deployment_;
  const VerbCatalog& verbs_;
  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::deque<Segment> segments_;
  std::unordered_set<NodeId> busy_;  // nodes with commands in flight
  int in_flight_ = 0;    // creates, series, barriers, and nodes with batched commands in flight
  int batches_out_ = 0;  // batches not answered yet
  bool held_ = false;
  bool creates_changed_ = true;  // a create was submitted or a command finished since StartCreates
  Stats stats_;
  // Frees the slots of silent batches, up to 1 ms late.
  TimerQueue timers_{std::chrono::milliseconds(1)};
  bool barrier_running_ = false;
  bool tree_pictures_ = false;
  bool tree_colour_ = false;
  std::uint64_t next_seq_ = 0;
  // create and remove block, so they never run on an nng thread. Several creates at once keep
  // both cores busy starting node processes; more would only queue on the nodes.
  WorkerPool barrier_worker_{1};
  WorkerPool create_workers_{kCreateWorkers};
  // Ping series mostly sleep; a few at once cover a person watching several nodes.
  WorkerPool series_workers_{4};
  std::mutex series_mu_;
  std::condition_variable series_cv_;
  std::uint64_t series_stops_ = 0;  // StopSeries() calls so far
  bool series_ended_ = false;
};

}  // namespace arbor::controller
