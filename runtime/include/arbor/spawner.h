// Spawner: the seam through which arbor starts node processes.
//
// Launch() starts `arbor-node` with posix_spawn (nng is not fork-safe, so there is never a
// fork that runs code before exec) and waits until the node listens, through a "ready" pipe the
// node writes one line to: "ok <url>" or "error <message>". No sleeps, no polling of sockets.
//
// The child gets: stdin from /dev/null (nodes never read the controller's input), stdout onto
// stderr (a chatty plugin cannot corrupt the controller's result lines), an empty signal mask,
// the ready pipe as fd 3 and, when given, the controller lifeline as fd 4 and the config as
// fd 5. The root node starts
// a new process group and every other node joins its parent's, so a Ctrl-C at the controller's
// terminal does not reach the tree.
//
// Thread-safety: Launch() may be called from several threads at once; every descriptor it makes
// is close-on-exec in the parent, so concurrent launches do not leak pipes into each other.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

#include "arbor/message.h"
#include "arbor/result.h"

namespace arbor {

struct NodeLaunch {
  std::string binary;       // path to arbor-node
  NodeId id = 0;
  std::string session;      // fills {session} in the endpoint template
  int config_fd = -1;       // the deployment's config (config_handoff.h); -1: built-in defaults
  std::optional<NodeId> parent_id;  // where the node asks to be re-adopted if cut off
  bool respawn = false;             // the node died and is started again in place
  int lifeline_fd = -1;     // read end of the controller lifeline; -1: none
  bool new_process_group = false;
  std::chrono::milliseconds start_timeout{5000};
};

struct LaunchedNode {
  pid_t pid = -1;
  std::string url;  // where it listens (tcp port 0 resolved to the real port)
};

class Spawner {
 public:
  virtual ~Spawner() = default;
  virtual Result<LaunchedNode> Launch(const NodeLaunch& launch) = 0;
};

// The posix_spawn implementation.
Spawner& DefaultSpawner();

// The fd numbers a node finds its pipes on.
inline constexpr int kReadyFd = 3;
inline constexpr int kLifelineFd = 4;
inline constexpr int kConfigFd = 5;

}  // namespace arbor
