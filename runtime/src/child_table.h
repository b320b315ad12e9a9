// ChildTable: a node's two child slots and what the node knows about each child.
//
// Left holds the child with smaller ids, right the one with larger. Each slot has the child's
// handle, its state (up, down, restarting), its restart budget, whether it was adopted (not our
// process: watched, not reaped), and a generation bumped whenever the slot changes hands, so a
// task that waited (a respawn) can tell its slot was reused meanwhile.
//
// With restarts on and a data directory, the table keeps the list of its children (id, host and
// last pid) in a file: a respawned node reads it to take back the children its previous
// process had, even those that cannot ask to be adopted. The list is each slot's `saved`, which
// only a committed change of the tree moves (a create or an adoption fills it, a remove empties
// it, a restart updates its pid). Stopping the children (shutdown, orphan grace) and a
// recovery cut short leave it as it is: a node killed while it takes its children back, or
// stopped for want of a parent, comes back with all of them.
//
// Thread-safety: every access goes through With()/WithSaved(), which hold the table's lock;
// the callbacks must not block.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "arbor/child.h"
#include "arbor/restart_policy.h"
#include "arbor/control.h"

namespace arbor {

class ChildTable {
 public:
  enum class State { kUp, kDown, kRestarting };
  struct SavedChild {
    NodeId id = 0;
    std::string host;  // empty: no hosts in the deployment
    pid_t pid = -1;    // its last process, on its host; -1: not known
  };
  struct Slot {
    std::optional<ChildHandle> child;
    bool busy = false;  // a spawn, remove or adoption is in progress on this side
    State state = State::kUp;
    int restarts = 0;
    RestartBudget budget;
    bool adopted = false;
    std::uint64_t generation = 0;
    std::optional<SavedChild> saved;  // what the file says is on this side
  };
  using Slots = std::array<Slot, 2>;

  // `children_file`: where the list is kept; empty: nowhere.
  ChildTable(const Config& config, std::string children_file);

  template <typename F>
  auto With(F&& fn) {
    std::lock_guard lock(mu_);
    return fn(slots_);
  }
  // The same, and the list of children is saved before the lock is released.
  template <typename F>
  auto WithSaved(F&& fn) {
    std::lock_guard lock(mu_);
    struct SaveOnExit {
      ChildTable* t;
      ~SaveOnExit() { t->SaveLocked(); }
    } save{this};
    return fn(slots_);
  }

  // The link to the child on `side`, or nullptr; sets *id to its id.
  std::shared_ptr<NodeLink> LinkTo(int side, NodeId* id);
  // Each child with its state, restarts, pid and host.
  std::vector<ChildReport> Report();
  // The children that have a connection right now.
  std::vector<std::pair<NodeId, std::shared_ptr<NodeLink>>> Connected();

  // The saved list as the file has it, and forgetting it (a new node with an old id has no
  // children).
  std::vector<SavedChild> Saved() const;
  void ForgetSaved() const;

  static const char* StateName(State s);

 private:
  void SaveLocked();  // mu_ held; written atomically (a temporary file, then rename)

  std::string written_;  // what the file holds, so an unchanged list is not written again

  const std::string file_;
  std::mutex mu_;
  Slots slots_;
};

}  // namespace arbor
