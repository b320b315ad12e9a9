// The `tree` answer in its three forms, from one list of rows:
//  - TreeText: the lines scripts compare (one per node, indented two spaces a level);
//  - TreePicture: for a person at a terminal, drawn as tree(1) draws directories, with each
//    node's state in colour;
//  - TreeDot: a Graphviz digraph (`tree --dot | dot -Tsvg`), one node per tree node labelled
//    and coloured by its state, one edge per parent-child link.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arbor/message.h"

namespace arbor::controller {

// One node as `tree` shows it. Rows come depth first, each parent before its children, the
// left child before the right.
struct TreeRow {
  NodeId id = 0;
  std::optional<NodeId> parent;  // nullopt for the root
  int depth = 0;
  std::string state;  // up, down, restarting or unreachable
  std::int64_t pid = -1;  // -1: no process known to run (shown as "pid=-")
  std::int64_t restarts = 0;
  std::optional<std::string> host;  // when the deployment has hosts
};

std::string TreeText(const std::vector<TreeRow>& rows);
// `colour`: ANSI colours for the states (off for NO_COLOR).
std::string TreePicture(const std::vector<TreeRow>& rows, bool colour);
std::string TreeDot(const std::vector<TreeRow>& rows);

}  // namespace arbor::controller
