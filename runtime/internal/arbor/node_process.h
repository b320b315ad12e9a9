// Whether a node's process still runs, from a pid learned earlier (a saved list, a report).
// A pid read from a file or kept for a while may have been reused by anything since, so the
// process must also be an arbor-node of the same session with the same id, and not a zombie.
// Only meaningful for a process of this machine. Thread-safety: a pure function of /proc.
#pragma once

#include <sys/types.h>

#include <string>

#include "arbor/node_id.h"

namespace arbor {

bool NodeProcessRuns(pid_t pid, const std::string& session, NodeId id);

}  // namespace arbor
