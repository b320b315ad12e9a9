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
#include "arbor/launcher.h"
#include "arbor/node_link.h"
#include "arbor/supervisor.h"

namespace arbor {

struct ChildHandle {
  NodeId id = 0;
  pid_t pid = -1;        // on the child's host
  pid_t local_pid = -1;  // our process for it (the node, or its ssh client); -1: none
  std::string url;
  std::shared_ptr<NodeLink> link;
  std::string host;   // empty: no hosts in the deployment
  bool ours = true;   // local_pid is our child process (reapable); false once adopted
};

// Launches the node, dials it and waits until the connection is up. A refused connection (a
// bad certificate, say) is an error that says so, and the started process is killed.
Result<ChildHandle> StartChild(Launcher& launcher, const NodeLaunch& launch,
                               const LinkOptions& link_options);

// Asks the child to shut down (it shuts down its own subtree first), waits for the process to
// exit, and kills it if it is dead, hung or slow. Closes the link. Always leaves no process.
void StopChild(ChildHandle& child, Supervisor& supervisor, Deadline deadline);

}  // namespace arbor
