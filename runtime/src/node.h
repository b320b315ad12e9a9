// Node: one compute node of the tree.
//
// It listens on its endpoint and, for every request, compares the target id with its own:
// smaller goes to the left child, larger to the right, equal runs here. Forwarding passes the
// message on as it is, with only the time budget rewritten, and never waits on a thread: the
// reply comes back through an nng callback and goes straight up. Verbs that are cheap run inline
// on the I/O thread; blocking verbs and the runtime's own control verbs (control.h) run on a
// worker thread, so a slow handler never stalls forwarding.
//
// The node owns its children (ChildTable): it starts them through its Launcher (as its own
// child processes, or on another host), stops them, restarts them by the deployment's policy,
// and answers "unavailable" at once for a child that has no connection.
//
// The code is split by concern: node.cc is the request path, node_control.cc the control verbs
// and the children's lifecycle, node_sweep.cc the tree sweep.
// Thread-safety: all entry points may run concurrently on nng and worker threads.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "arbor/child.h"
#include "arbor/config.h"
#include "arbor/plugin_loader.h"
#include "child_table.h"
#include "arbor/dispatcher.h"
#include "arbor/fence.h"
#include "routing.h"
#include "server.h"
#include "arbor/timer_queue.h"
#include "arbor/worker_pool.h"

namespace arbor {

struct NodeOptions {
  NodeId id = 0;
  std::string session;
  std::string host;         // the host this node runs on; empty: no hosts in the deployment
  int config_fd = -1;       // the deployment's config (config_handoff.h); passed on to children
  int lifeline_fd = -1;     // passed on to children
  std::string binary;       // this executable, to start children with
  std::optional<NodeId> parent_id;  // none for the root
  std::string parent_host;
  bool respawn = false;             // started again in place after dying: recover children
  bool external = false;            // run by a supervisor: waits for a parent to attach it
};

class Node {
 public:
  Node(NodeOptions options, Config config, Supervisor& supervisor, Launcher& launcher);
  ~Node();

  // Makes the plugin instances and starts listening. Plugin failures are recorded, not fatal;
  // failing to listen is.
  Status Start(PluginSet plugins);
  const std::string& url() const { return server_->url(); }
  // Connections from the parent. An external node not yet attached counts as connected: it
  // waits for its first parent as long as it takes, and its orphan grace starts only after.
  int upstream_peers() const {
    if (options_.external && !attached_) return 1;
    return server_ ? server_->peers() : 0;
  }
  const std::vector<Status>& plugin_errors() const { return plugin_errors_; }

  // Stops every child and its subtree. Blocks.
  void StopChildren();
  // Supervisor hooks, called on the supervisor thread.
  void OnChildExit(pid_t pid, int status);
  void OnTick(bool cut_off);
  // Stops accepting requests. Blocks until callbacks are done.
  void Close();

 private:
  // The request path (node.cc).
  void OnRequest(Server::Exchange* ex, nng_msg* msg);
  void Forward(Server::Exchange* ex, nng_msg* msg, std::uint64_t request_id, NodeId target,
               Deadline deadline);
  void Execute(Server::Exchange* ex, Request request);
  // Runs `ops` in order. `exit_after` null: they came in a batch, where the control verbs that
  // change the tree or end the node are refused.
  std::vector<OpResult> RunOps(const std::vector<Op>& ops, bool* exit_after);
  void SyncPlugins(const std::vector<Op>& ops, std::vector<OpResult>& results);
  // An answer too large for any reply becomes an error saying so (never a dropped reply).
  void CapAnswer(OpResult& result, std::size_t room) const;
  Status TooLarge(std::size_t answer_bytes) const;
  // Runs `task` for `ops` where they belong: inline for cheap verbs, on a worker for blocking
  // ones, on the control worker for the runtime's own. Not OK (and `task` dropped) when no
  // worker can take it; the status says why, for every op.
  Status RunWhereItFits(const std::vector<Op>& ops, std::function<void()> task);
  Status NoWorker(const Status& why) const;
  void FitReply(Reply& reply) const;
  // The child link a request for `target` goes through, or the route failure that says why
  // there is none to use.
  Result<std::shared_ptr<NodeLink>> RouteTo(NodeId target, NodeId* child_id);

  // Batches (node_batch.cc, batch.h).
  struct BatchRun;
  void OnBatch(Server::Exchange* ex, nng_msg* msg);
  void OnCollect(Server::Exchange* ex, nng_msg* msg);
  void StartPart(const std::shared_ptr<BatchRun>& run, int side, NodeId target, nng_msg* msg);
  void CollectPart(const std::shared_ptr<BatchRun>& run, int side, std::uint64_t token);
  void OnPartReply(const std::shared_ptr<BatchRun>& run, int side, nng_msg* reply, Status status);
  struct OwnGroup;
  struct OwnWork;
  // Admits this node's groups of a batch through the fence and runs what it admits after
  // every group admitted before (fence.h). Groups run one at a time, in the order admitted.
  void RunBatchSelf(const std::shared_ptr<BatchRun>& run, std::vector<OwnGroup> groups);
  // Runs `work` and the admitted work queued behind it, in order: cheap verbs inline, the
  // rest on a worker, which goes on with the queue when done.
  void RunOwnFrom(std::shared_ptr<OwnWork> work);
  void FinishOwn(const OwnWork& work, std::vector<OpResult> results);
  std::shared_ptr<OwnWork> NextOwn();
  // The worker `ops` must run on, or null for inline.
  WorkerPool* PoolFor(const std::vector<Op>& ops);
  void Deliver(const std::shared_ptr<BatchRun>& run, std::unique_lock<std::mutex>& lock);
  void SendBatchReply(const std::shared_ptr<BatchRun>& run, std::unique_lock<std::mutex>& lock);
  void ExpireHeld(std::uint64_t token);

  // Control verbs and the children's lifecycle (node_control.cc).
  OpResult RunControl(const Op& op, bool* exit_after);
  OpResult Spawn(const SpawnArgs& args);
  OpResult Remove(NodeId child);
  OpResult Info();
  OpResult Adopt(const AdoptArgs& args);
  OpResult Attach(const AttachArgs& args);
  Identity Self() const;
  void Respawn(int side, std::uint64_t generation);
  NodeLaunch LaunchFor(NodeId child, const std::string& host) const;
  void AskForAdoption();
  void CheckListener(std::chrono::milliseconds every);
  void RecoverChildren();
  // One attempt at the saved child on `side`; the next is scheduled when it fails.
  void RecoverChild(int side, int attempt);
  // The saved child's process, if it runs and answers as that node.
  std::optional<ChildHandle> Reclaim(const ChildTable::SavedChild& child);
  bool ForgetRecovering(int side, NodeId child);

  // The sweep (node_sweep.cc).
  void Sweep(Server::Exchange* ex, std::uint64_t request_id, Deadline deadline);

  // The child slot a target other than this node lives under: 0 left, 1 right.
  int SideOf(NodeId target) const { return RouteStep(options_.id, target) == Route::kLeft ? 0 : 1; }
  std::string ChildrenFile() const;
  Status OpenFence();
  // Whether a child on `host` is a process of this machine, which we can watch by pid.
  bool SameMachine(const std::string& host) const;
  std::pair<std::optional<NodeId>, std::string> Parent() const;

  NodeOptions options_;
  Config config_;
  LinkOptions link_options_;
  Supervisor& supervisor_;
  Launcher& launcher_;
  Dispatcher dispatcher_;
  std::vector<std::string> plugin_names_;
  std::vector<Status> plugin_errors_;
  std::unique_ptr<Server> server_;
  std::string digest_;  // ConfigDigest(config_), checked when an external node is attached

  std::string data_dir_;  // this node's directory under the deployment's data_dir, or empty
  mutable std::mutex parent_mu_;  // an external node learns its parent when attached
  std::atomic<bool> attached_{false};
  std::atomic<bool> adopt_in_flight_{false};  // before adopt_link_: its callback writes this
  // CheckListener(): started on the supervisor thread, the check runs on listener_check_.
  Clock::time_point listener_checked_;
  std::thread listener_check_;
  std::atomic<bool> listener_check_running_{false};
  int listener_broken_ = 0;  // checks in a row that found it broken; by listener_check_
  std::unique_ptr<NodeLink> adopt_link_;      // to the parent's endpoint, only while cut off

  // Order of this node's own groups (fence.h). A group is admitted and queued under own_mu_,
  // so the queue holds admitted work in the order of its numbers; only its front runs.
  SequenceFence fence_;
  std::mutex own_mu_;
  std::deque<std::shared_ptr<OwnWork>> own_queue_;  // guarded by own_mu_

  // Batches with answers still to collect, by token (node_batch.cc).
  std::mutex held_mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<BatchRun>> held_;  // guarded by held_mu_
  std::uint64_t next_token_ = 1;                                       // guarded by held_mu_
  // Set first thing in ~Node: a link's last callbacks, run while the members go away, arm no
  // timer (timers_ may be gone by then).
  std::atomic<bool> closing_{false};
  // Batch lingers and expiries; its thread starts with the first. 1 ms late is nothing next to
  // the 5 ms linger. Before children_: the links' last callbacks, when they close, may still
  // arm a timer.
  TimerQueue timers_{std::chrono::milliseconds(1)};

  std::unique_ptr<ChildTable> children_;


  // Last, so destroyed first: their tasks use everything above, so they are joined before any
  // of it goes away.
  WorkerPool workers_{2};         // blocking plugin verbs
  WorkerPool control_worker_{1};  // spawn/remove/shutdown: never stuck behind slow handlers
};

}  // namespace arbor
