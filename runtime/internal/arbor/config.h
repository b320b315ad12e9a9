// Config: one deployment, as read from YAML.
//
// The controller loads the file once; every node gets the same Config from its parent
// (config_handoff.h), finds its own entry under `nodes:` (if any), and takes the
// deployment-wide settings for the rest. With no file, the embedded default
// (configs/default.yaml, compiled in) applies. Loading (the Load* functions) lives in the
// arbor_config library, which nodes do not link.
//
// Loading is strict: an unknown key, a duplicate key, a wrong type or an out-of-range number is
// an error whose message names the file, the line and the column. Listening beyond loopback is
// refused unless the file says `allow_remote: true`. Hostile input is refused too: a file that
// is not regular or is over 1 MiB, a second document, an unclosed quote, tab indentation,
// nesting deeper than 32, non-string keys, control characters in any value (config_prescan.h).
// Messages are escaped (escape.h): they quote the file.
//
// Thread-safety: a Config is an immutable value once loaded.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arbor/message.h"
#include "arbor/result.h"

namespace arbor {

struct PluginSpec {
  std::string name;                            // e.g. "dictionary"
  std::string path;                            // explicit file; empty: search plugin_path
  std::map<std::string, std::string> options;  // handed to the plugin untouched
};

struct NodeSpec {
  NodeId id = 0;
  std::optional<std::vector<PluginSpec>> plugins;  // unset: the deployment's plugin list
  std::string host;                                // empty: placed by `placement`
};

// TLS material, as file paths. The key file is read only by the process that uses it, on its
// own host: it is never part of the config handoff, an ssh command line or a log line.
struct TlsFiles {
  std::string ca;    // the deployment's CA: peers must present a certificate it signed
  std::string cert;  // this process's certificate (PEM)
  std::string key;   // its private key (PEM)
  bool complete() const { return !ca.empty() && !cert.empty() && !key.empty(); }
};

// One machine of a deployment, and how nodes are started there.
struct HostSpec {
  enum class Launch {
    kLocal,     // posix_spawn on the machine of the process that starts the node
    kSsh,       // the OpenSSH client runs arbor-node there; the node dies with the session
    kExternal,  // a supervisor there (systemd, Kubernetes) runs `arbor serve`; the parent dials
  };
  std::string name;
  std::string address;  // IP or DNS name; fills {address} in the endpoint
  Launch launch = Launch::kLocal;
  std::string ssh_user;  // empty: ssh's default
  int ssh_port = 22;
  std::string ssh_identity;     // -i; empty: ssh's default
  std::string ssh_known_hosts;  // UserKnownHostsFile; empty: ssh's default
  std::vector<std::string> ssh_options;  // extra -o options, e.g. "ConnectTimeout=5"
  std::string arbor_node = "arbor-node";  // ssh: arbor-node's path on that host
  TlsFiles tls;  // the deployment's transport.tls with this host's overrides applied
};

struct Config {
  std::string source = "<embedded default>";  // where it was read from, for messages

  // transport:
  // Where a node listens. {session} is unique per controller run; {id} is the node id.
  std::string endpoint = "abstract://arbor/{session}/{id}";
  bool allow_remote = false;                // listening beyond loopback needs this set
  // With hosts: node N listens on its host's address at port_base + N ({port}), so it comes
  // back at the same address when it is restarted.
  int port_base = 7000;
  bool insecure = false;  // plain tcp beyond loopback needs this set; tls+tcp does not
  TlsFiles tls;           // the controller's, and every host's default
  std::size_t max_message_bytes = 1 << 20;  // larger messages are dropped by nng
  int reconnect_min_ms = 10;
  int reconnect_max_ms = 200;
  // Connections a node's listener holds at once. A node needs one or two (its parent, and
  // during a restart the parent's new connection); the rest of the bound is slack for tools.
  // Past it, idle connections that never sent a request are closed first (see server.h).
  int max_connections = 64;

  // timeouts:
  int request_ms = 2000;       // deadline of each command, passed down the tree
  int start_ms = 5000;         // how long a new node may take to come up
  int orphan_grace_ms = 3000;  // a node cut off from its parent exits after this long

  // plugins:
  std::vector<std::string> plugin_path = {"$ORIGIN/../lib/arbor/plugins"};
  // Loaded by every node without its own list. The same as configs/default.yaml.
  std::vector<PluginSpec> plugins = {{"dictionary", "", {}}, {"ping", "", {}}};

  // restart: what a parent does when a child process dies. kNever (the default) leaves it down,
  // as the exercise asks. kOnFailure respawns it in place (same id, same endpoint), at most
  // max_restarts times within restart_window_ms, after which it stays down (as in Erlang/OTP).
  enum class Restart { kNever, kOnFailure };
  Restart restart = Restart::kNever;
  int max_restarts = 3;
  int restart_window_ms = 10000;

  // hosts: empty means one machine, as before. Otherwise every node runs on one of them.
  std::vector<HostSpec> hosts;
  // Where `create` puts a node that `nodes:` does not place: kParent (its BST parent's host;
  // the root goes on the first host), kRoundRobin over `hosts`, or kHost (placement_host).
  enum class Placement { kParent, kRoundRobin, kHost };
  Placement placement = Placement::kParent;
  std::string placement_host;

  std::vector<NodeSpec> nodes;  // created at start-up, in this order (the order shapes the BST)
  // How many nodes the deployment may hold: `nodes:` longer than this is refused at load, and
  // the controller refuses a `create` beyond it. Read by the controller only (not handed to
  // nodes). Default 1000; at most kMaxNodesLimit.
  std::size_t max_nodes = 1000;
  std::string data_dir;         // empty: none; "$ORIGIN" and "{session}" are expanded
  std::string log_level = "warn";

  const std::vector<PluginSpec>& PluginsFor(NodeId id) const;
  // The endpoint template with {session}, {id} and, for a node on `host`, {address} and
  // {port} filled in. Check PortFor() first where the id comes from a user.
  std::string EndpointFor(std::string_view session, NodeId id, std::string_view host = {}) const;
  // port_base + id, or nullopt when that is not a port (1-65535).
  std::optional<int> PortFor(NodeId id) const;
  const HostSpec* Host(std::string_view name) const;  // nullptr: no such host
  // The host `nodes:` names for `id`, or empty.
  std::string HostOf(NodeId id) const;
  // The TLS files a process on `host` uses (empty host: the controller's).
  const TlsFiles& TlsFor(std::string_view host) const;
};

inline constexpr std::size_t kMaxNodesLimit = 1000000;

// Reads a regular file of at most 1 MiB (anything else is refused before it is read).
Result<Config> LoadConfigFile(const std::string& path);
Result<Config> LoadConfigString(std::string_view yaml, const std::string& source_name);
Result<Config> LoadDefaultConfig();  // the embedded configs/default.yaml
// Whether this process can read the TLS files it would use (checked on their own host, at
// start, so that a missing key is one clear error rather than a refused connection later).
Status CheckTlsReadable(const TlsFiles& tls);

// Replaces a leading "$ORIGIN" with the directory of the running executable.
std::string ExpandOrigin(std::string_view path);
// The file a PluginSpec names: its explicit path, or lib<name>... found on plugin_path.
Result<std::string> LocatePlugin(const Config& config, const PluginSpec& spec);

}  // namespace arbor
