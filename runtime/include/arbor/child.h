// Child: one node process started by its parent, and the link that reaches it.
//
// The parent of a node is another node, or the controller for the root; both use these two
// functions, so starting and stopping a node is the same code wherever it happens.
// Thread-safety: a ChildHandle is owned by one parent; the functions block and must not run on
// an nng callback thread.
#pragma once

#include <sys/types.h>

#include <memory>

#include "arbor/deadline.h"
#include "arbor/node_link.h"
#include "arbor/spawner.h"
#include "arbor/supervisor.h"

namespace arbor {

struct ChildHandle {
  NodeId id = 0;
  pid_t pid = -1;
  std::string url;
  std::shared_ptr<NodeLink> link;
  bool ours = true;  // our child process (reapable); false for an adopted node
};

// Launches the node, dials it and waits until the connection is up.
Result<ChildHandle> StartChild(Spawner& spawner, const NodeLaunch& launch,
                               const LinkOptions& link_options);

// Asks the child to shut down (it shuts down its own subtree first), waits for the process to
// exit, and kills it if it is dead, hung or slow. Closes the link. Always leaves no process.
void StopChild(ChildHandle& child, Supervisor& supervisor, Deadline deadline);

}  // namespace arbor
