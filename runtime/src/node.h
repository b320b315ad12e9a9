// Node: one compute node of the tree.
//
// It listens on its endpoint and, for every request, compares the target id with its own:
// smaller goes to the left child, larger to the right, equal runs here. Forwarding passes the
// message on as it is, with only the time budget rewritten, and never waits on a thread: the
// reply comes back through an nng callback and goes straight up. Verbs that are cheap run inline
// on the I/O thread; blocking verbs and the runtime's own control verbs ("arbor.*": spawn,
// remove, shutdown, info) run on a worker thread, so a slow handler never stalls forwarding.
//
// The node owns its children: it starts them (as its own child processes), stops them, and
// answers "unavailable" at once for a child that has no connection.
// Thread-safety: all entry points may run concurrently on nng and worker threads.
#pragma once

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "arbor/child.h"
#include "arbor/config.h"
#include "arbor/plugin_loader.h"
#include "dispatcher.h"
#include "routing.h"
#include "server.h"
#include "worker_pool.h"

namespace arbor {

struct NodeOptions {
  NodeId id = 0;
  std::string session;
  int config_fd = -1;       // the deployment's config (config_handoff.h); passed on to children
  int lifeline_fd = -1;     // passed on to children
  std::string binary;       // this executable, to start children with
  std::optional<NodeId> parent_id;  // none for the root
  bool respawn = false;             // started again in place after dying: recover children
};

class Node {
 public:
  Node(NodeOptions options, Config config, Supervisor& supervisor, Spawner& spawner);
  ~Node();

  // Makes the plugin instances and starts listening. Plugin failures are recorded, not fatal;
  // failing to listen is.
  Status Start(PluginSet plugins);
  const std::string& url() const { return server_->url(); }
  int upstream_peers() const { return server_ ? server_->peers() : 0; }
  const std::vector<Status>& plugin_errors() const { return plugin_errors_; }

  // Stops every child and its subtree. Blocks.
  void StopChildren();
  // Supervisor hooks, called on the supervisor thread.
  void OnChildExit(pid_t pid, int status);
  void OnTick(bool cut_off);
  // Stops accepting requests. Blocks until callbacks are done.
  void Close();

 private:
  enum class ChildState { kUp, kDown, kRestarting };
  struct ChildSlot {
    std::optional<ChildHandle> child;
    bool busy = false;  // a spawn, remove or adoption is in progress on this side
    ChildState state = ChildState::kUp;
    int restarts = 0;
    std::deque<Clock::time_point> restart_times;  // within the restart window
    bool adopted = false;          // not our process (its parent died): polled, not reaped
    std::uint64_t generation = 0;  // bumped whenever the slot changes hands
  };

  void OnRequest(Server::Exchange* ex, nng_msg* msg);
  void Forward(Server::Exchange* ex, nng_msg* msg, std::uint64_t request_id, NodeId target,
               Deadline deadline);
  void Execute(Server::Exchange* ex, Request request);
  Reply RunOps(const Request& request, bool* exit_after);
  void SyncPlugins(const Request& request, Reply& reply);
  OpResult RunControl(const Op& op, bool* exit_after);
  OpResult Spawn(NodeId child);
  OpResult Remove(NodeId child);
  OpResult Info();
  OpResult Adopt(const Op& op);
  OpResult Children();
  void Respawn(int side, std::uint64_t generation);
  NodeLaunch LaunchFor(NodeId child) const;
  void AskForAdoption();
  void Sweep(Server::Exchange* ex, std::uint64_t request_id, Deadline deadline);
  // The child ids of this node, kept in its data directory when restarts are on, so that a
  // respawned node finds the children it had even if they cannot ask for adoption.
  std::string ChildrenFile() const;
  void SaveChildren();  // children_mu_ held
  void RecoverChildren();
  void RecoverChild(NodeId id);
  // The child slot a target other than this node lives under: 0 left, 1 right.
  int SideOf(NodeId target) const { return RouteStep(options_.id, target) == Route::kLeft ? 0 : 1; }
  std::shared_ptr<NodeLink> LinkTo(int side, NodeId* child_id);

  NodeOptions options_;
  Config config_;
  LinkOptions link_options_;
  Supervisor& supervisor_;
  Spawner& spawner_;
  Dispatcher dispatcher_;
  std::vector<std::string> plugin_names_;
  std::vector<Status> plugin_errors_;
  std::unique_ptr<Server> server_;

  std::string data_dir_;  // this node's directory under the deployment's data_dir, or empty
  std::atomic<bool> adopt_in_flight_{false};  // before adopt_link_: its callback writes this
  std::unique_ptr<NodeLink> adopt_link_;      // to the parent's endpoint, only while cut off

  std::mutex children_mu_;
  std::array<ChildSlot, 2> children_;  // [0] left (smaller ids), [1] right

  // Last, so destroyed first: their tasks use everything above, so they are joined before any
  // of it goes away.
  WorkerPool workers_{2};         // blocking plugin verbs
  WorkerPool control_worker_{1};  // spawn/remove/shutdown: never stuck behind slow handlers
};

}  // namespace arbor
