// Deployment: the controller's side of one running tree.
//
// It owns the session name, the lifeline pipe every node watches (when the controller dies,
// the write end closes and every node exits at once), the root node (a child process of the
// controller), the TreeModel, and the link through which every request enters the tree.
//
// Create() and Remove() change the tree and block. Creates that land in different slots of the
// tree may run at once (the Scheduler sees to that); Remove() runs only while nothing else is
// in flight. Send() is the asynchronous data path.
// Thread-safety: every method from any thread, with the ordering rules above.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <tuple>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "arbor/child.h"
#include "arbor/batch.h"
#include "arbor/fence.h"
#include "arbor/config.h"
#include "arbor/launcher.h"
#include "arbor/restart_policy.h"
#include "arbor/control.h"
#include "tree_model.h"
#include "tree_view.h"
#include "arbor/timer_queue.h"
#include "arbor/worker_pool.h"

namespace arbor::controller {

class Deployment {
 public:
  // Every node of the deployment gets `config` as it is now (config_handoff.h).
  Deployment(Config config, std::string node_binary);
  ~Deployment();  // Shutdown()

  // Empty when the deployment could start what it needs (its supervisor's descriptors and
  // thread); otherwise why not, and nothing may be created.
  const std::string& failure() const { return failure_; }
  const Config& config() const { return config_; }
  const std::string& session() const { return session_; }

  // AlreadyExists, Unavailable (the parent cannot be reached), or another error.
  Result<pid_t> Create(NodeId id);
  // NotFound, Unavailable (the parent cannot be reached), or another error.
  Status Remove(NodeId id);
  // The ids of nodes that do not answer, ascending. One sweep of the tree (arbor.sweep).
  std::vector<NodeId> Unreachable();
  // One line per node, depth first with indentation: id, state (up / down / restarting /
  // unreachable), pid and restart count, as the node and its parent report them, and its
  // host when the deployment has hosts.
  std::vector<std::string> Tree();
  // The same, as data (tree_view.h); empty for an empty tree.
  std::vector<TreeRow> TreeRows();

  // SlotFor() of each id, under one lock.
  std::vector<std::optional<TreeModel::Slot>> SlotsFor(const std::vector<NodeId>& ids) const;

  bool Contains(NodeId id) const;
  std::vector<NodeId> Ids() const;
  std::optional<pid_t> PidOf(NodeId id) const;

  // Sends `ops` to node `target`; `done` runs once, on an nng thread or inline.
  using Done = std::function<void(Result<Reply>)>;
  void Send(NodeId target, std::vector<Op> ops, Done done);
  // Sends a batch (batch.h) to the root; `done` runs once, on an nng thread or inline, with
  // its first reply. The replies to collects of what the root held come the same way.
  // `deadline` bounds the wait for each reply: the batch's own, set from its budget.
  using BatchDone = std::function<void(Result<BatchReply>)>;
  // Numbers each group of `request` in this controller's order of commands to its target
  // (fence.h), then sends it.
  void SendBatch(BatchRequest request, Deadline deadline, BatchDone done);
  void Collect(std::uint64_t token, Deadline deadline, BatchDone done);
  std::uint64_t NextRequestId() { return next_request_id_++; }

  // Stops the whole tree. Idempotent.
  void Shutdown();

 private:
  void WaitForOrphans(std::chrono::milliseconds limit);

  struct Swept {
    std::map<NodeId, SweepEntry> reached;  // nodes that answered, with what they said
    std::vector<NodeId> order;             // the same ids, each after its parent
    // What each answering node says of its children.
    std::map<NodeId, ChildReport> child_report;
  };
  // The host a new node goes on (Config::placement); empty without hosts.
  std::string PlaceNode(NodeId id, std::optional<NodeId> parent);
  // One arbor.sweep of the tree; reconciles the model with what it finds.
  Swept Sweep();
  // Adds nodes the sweep reached but the model lacks (see deployment.cc).
  void Reconcile(const Swept& swept);
  // A node the controller started itself: the root, and every node that ControllerStarts()
  // (those on ssh hosts). It watches their processes (the node, or its ssh client) and
  // restarts them by the deployment's policy, as a parent node does for its children.
  struct Started {
    NodeLaunch launch;  // to start it again in place
    pid_t pid = -1;     // on its host
    pid_t local_pid = -1;
    std::string state = "up";
    int restarts = 0;
    RestartBudget budget;
    bool stopping = false;  // being created, removed or shut down: its exit is no failure
  };
  void OnStartedExit(pid_t pid);
  // Starts a node the controller started again; `attempt` counts failed starts in a row.
  void RespawnStarted(NodeId id, pid_t old_local_pid, int attempt);
  void LeaveDownLocked(NodeId id, Started& s);
  // Starts a node under a parent on another machine and has the parent attach it.
  // Create() once it has counted the node in creating_: starts its process, returns its pid.
  Result<pid_t> StartNode(NodeId id, std::optional<NodeId> parent, const std::string& host,
                          const std::string& parent_host);
  Result<pid_t> CreateStarted(NodeId id, NodeId parent, const std::string& parent_host,
                              const std::string& host);
  // After the subtree's nodes were asked to stop: makes sure the processes the controller
  // started for them are gone, and forgets them.
  void ReapStarted(const std::vector<NodeId>& ids);
  Result<SpawnedReply> AskParentToSpawn(NodeId parent, const SpawnArgs& args);
  std::optional<ChildHandle> TakeRoot();
  NodeLaunch LaunchFor(NodeId id, const std::string& host) const;
  Result<Reply> SendAndWait(NodeId target, std::vector<Op> ops, Deadline deadline);
  std::shared_ptr<NodeLink> root_link() const;

  Config config_;
  std::string node_binary_;
  std::string session_;
  int config_fd_ = -1;  // the encoded config, inherited by the root and on down the tree
  int lifeline_read_ = -1;
  int lifeline_write_ = -1;
  LinkOptions link_options_;  // the controller's own: its TLS files
  std::unique_ptr<Launcher> launcher_;
  Supervisor supervisor_;
  std::thread supervisor_thread_;
  std::string failure_;
  std::atomic<std::uint64_t> next_request_id_{1};
  // The fence's numbers: this controller's epoch and, per target, the last number given out.
  // Never reset while the controller runs (a node removed and created again keeps counting),
  // so no number is given twice within an epoch.
  const std::uint64_t epoch_ = NewEpoch();
  bool IsLocal(const std::string& host) const;
  std::mutex seq_mu_;
  std::unordered_map<NodeId, std::uint64_t> last_seq_;  // guarded by seq_mu_

  mutable std::mutex mu_;  // guards model_, root_, started_, next_host_ and creating_
  TreeModel model_;
  std::optional<ChildHandle> root_;  // its link; its pids live in started_ (TakeRoot())
  std::map<NodeId, Started> started_;
  std::size_t next_host_ = 0;  // round-robin placement
  std::size_t creating_ = 0;   // creates started but not yet in model_ (for max_nodes)
  bool shut_down_ = false;
  WorkerPool respawner_{1};  // the controller is the root's parent: it restarts the root
  // Respawns that failed, tried again later. After respawner_, so destroyed before it: its
  // callbacks post there.
  TimerQueue retries_{std::chrono::milliseconds(10)};
};

}  // namespace arbor::controller
