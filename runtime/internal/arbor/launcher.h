// Launcher: the seam through which arbor starts node processes, on this machine or another.
//
// Launch() starts a node and returns once it listens, or with an error that says why not,
// naming the host for a remote one. Nothing is left half-started on failure: whatever process
// the launch made is killed. Three implementations, chosen per host by HostLauncher:
//  - local (posix_spawn; nng is not fork-safe): stdin from /dev/null, stdout onto stderr, the
//    ready pipe as fd 3, the controller lifeline as fd 4, the config memfd as fd 5. The node
//    writes one line to the ready pipe: "ok <pid> <url>" or "error <message>";
//  - ssh (the OpenSSH client, BatchMode): the config travels on the command line as hex (it
//    holds paths, never key material), the ready line comes back on ssh's stdout, and ssh's
//    stdin is the lifeline: the node exits when its session ends, so nothing outlives the
//    controller;
//  - external (systemd, Kubernetes): nothing is started; the node already waits at its address,
//    and the launch dials it and checks that it runs the same deployment.
// Tests fake this interface to make a start slow or fail.
//
// Thread-safety: Launch() may be called from several threads at once; every descriptor it makes
// is close-on-exec in the parent, so concurrent launches do not leak pipes into each other.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "arbor/config.h"
#include "arbor/message.h"
#include "arbor/result.h"

namespace arbor {

struct NodeLaunch {
  std::string binary;       // path to arbor-node on this machine
  NodeId id = 0;
  std::string session;      // fills {session} in the endpoint template
  std::string host;         // the host it runs on; empty: no hosts in the deployment
  int config_fd = -1;       // the deployment's config (config_handoff.h); -1: built-in defaults
  std::optional<NodeId> parent_id;  // where the node asks to be re-adopted if cut off
  std::string parent_host;
  bool respawn = false;             // the node died and is started again in place
  int lifeline_fd = -1;     // read end of the controller lifeline; -1: none
  bool new_process_group = false;
  std::chrono::milliseconds start_timeout{5000};
};

struct LaunchedNode {
  pid_t pid = -1;        // the node's pid on its own host: what `create` prints
  pid_t local_pid = -1;  // the process here to reap and kill (the node, or its ssh); -1: none
  std::string url;       // where it listens (tcp port 0 resolved to the real port)
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  virtual Result<LaunchedNode> Launch(const NodeLaunch& launch) = 0;
};

// posix_spawn on this machine.
Launcher& LocalLauncher();

// The OpenSSH launcher. Only the controller starts nodes over ssh (see ControllerStarts()).
// `config` must outlive it.
std::unique_ptr<Launcher> MakeSshLauncher(const Config& config);

// Picks the way to start a node from the deployment's hosts, as seen from a process on
// `self_host` (empty: the controller): `local` hosts (the controller's machine) by posix_spawn,
// `ssh` hosts with `ssh` (the controller passes MakeSshLauncher(); nodes pass none, so their
// executable does not carry it), `external` hosts by attaching. `config` must outlive the
// launcher.
std::unique_ptr<Launcher> MakeHostLauncher(const Config& config, std::string self_host,
                                           Launcher& local = LocalLauncher(),
                                           std::unique_ptr<Launcher> ssh = nullptr);

// Whether the controller, rather than the parent node, starts a node on `child_host` under a
// parent on `parent_host`. Every node on an ssh host is started by the controller, on its own
// session: the session's stdin is the controller lifeline, so the node exits with the
// controller, yet outlives a dead parent for its orphan grace (so a respawned parent can take
// it back), and only the controller's machine needs the ssh keys. A node on the controller's
// machine under a parent elsewhere is the controller's to start too. The parent then attaches
// it (SpawnArgs::url).
bool ControllerStarts(const Config& config, const std::string& parent_host,
                      const std::string& child_host);

// The fd numbers a locally started node finds its pipes on.
inline constexpr int kReadyFd = 3;
inline constexpr int kLifelineFd = 4;
inline constexpr int kConfigFd = 5;

}  // namespace arbor
