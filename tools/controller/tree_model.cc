#include "tree_model.h"

#include <algorithm>

namespace arbor::controller {

const TreeModel::Entry* TreeModel::Find(NodeId id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : &it->second;
}

std::optional<NodeId> TreeModel::InsertionParent(NodeId id) const {
  std::optional<NodeId> at = root_;
  std::optional<NodeId> parent;
  while (at) {
    parent = at;
    const Entry& e = nodes_.at(*at);
    at = id < *at ? e.left : e.right;
  }
  return parent;
}

std::optional<TreeModel::Slot> TreeModel::SlotFor(NodeId id) const {
  if (Contains(id)) return std::nullopt;
  std::optional<NodeId> parent = InsertionParent(id);
  return Slot{parent, parent && id < *parent};
}

void TreeModel::Insert(NodeId id, pid_t pid, std::string host) {
  std::optional<NodeId> parent = InsertionParent(id);
  nodes_[id] = Entry{parent, std::nullopt, std::nullopt, pid, std::move(host)};
  if (!parent) {
    root_ = id;
    return;
  }
  Entry& p = nodes_.at(*parent);
  (id < *parent ? p.left : p.right) = id;
}

std::vector<NodeId> TreeModel::Subtree(NodeId id) const {
  std::vector<NodeId> out;
  std::vector<NodeId> stack = {id};
  while (!stack.empty()) {
    NodeId at = stack.back();
    stack.pop_back();
    const Entry* e = Find(at);
    if (!e) continue;
    out.push_back(at);
    if (e->left) stack.push_back(*e->left);
    if (e->right) stack.push_back(*e->right);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<NodeId> TreeModel::RemoveSubtree(NodeId id) {
  std::vector<NodeId> gone = Subtree(id);
  if (gone.empty()) return gone;
  std::optional<NodeId> parent = nodes_.at(id).parent;
  if (parent) {
    Entry& p = nodes_.at(*parent);
    if (p.left == id) p.left.reset();
    if (p.right == id) p.right.reset();
  } else {
    root_.reset();
  }
  for (NodeId g : gone) nodes_.erase(g);
  return gone;
}

std::vector<NodeId> TreeModel::Ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, e] : nodes_) out.push_back(id);
  return out;
}

}  // namespace arbor::controller
