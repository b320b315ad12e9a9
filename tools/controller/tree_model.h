// TreeModel: the controller's picture of the tree: which ids exist, who is whose parent, and
// the pid of each node process. The controller needs it to tell "no such node" (Error: Not
// found) from "a node that cannot be reached" (Ok: 0), and to know where BST insertion puts a
// new id. The data itself never lives here: it stays on the nodes.
// Thread-safety: none; the owner serialises access.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "arbor/message.h"

namespace arbor::controller {

class TreeModel {
 public:
  struct Entry {
    std::optional<NodeId> parent;
    std::optional<NodeId> left, right;
    pid_t pid = -1;
    std::string host;  // empty when the deployment has no hosts
  };

  bool empty() const { return nodes_.empty(); }
  std::size_t size() const { return nodes_.size(); }
  bool Contains(NodeId id) const { return nodes_.count(id) > 0; }
  std::optional<NodeId> root() const { return root_; }
  const Entry* Find(NodeId id) const;

  // The empty place where BST insertion of an id lands: one side of `parent`, or the root.
  // Two inserts that land in different slots commute: each new node is a leaf, and neither
  // lies on the other's path. That is what lets creates run concurrently.
  struct Slot {
    std::optional<NodeId> parent;  // nullopt: the root of an empty tree
    bool left = false;
    friend bool operator<(const Slot& a, const Slot& b) {
      return std::tie(a.parent, a.left) < std::tie(b.parent, b.left);
    }
  };

  // The node under which BST insertion of `id` lands; nullopt when the tree is empty.
  // Precondition: !Contains(id).
  std::optional<NodeId> InsertionParent(NodeId id) const;
  // Where `id` would be inserted; nullopt when it is already in the tree.
  std::optional<Slot> SlotFor(NodeId id) const;
  // Inserts `id` where InsertionParent() says.
  void Insert(NodeId id, pid_t pid, std::string host = {});
  // Removes `id` and every node below it; returns the removed ids.
  std::vector<NodeId> RemoveSubtree(NodeId id);
  // Every id, ascending.
  std::vector<NodeId> Ids() const;
  // The ids in the subtree rooted at `id` (including it), ascending.
  std::vector<NodeId> Subtree(NodeId id) const;

 private:
  std::map<NodeId, Entry> nodes_;
  std::optional<NodeId> root_;
};

}  // namespace arbor::controller
