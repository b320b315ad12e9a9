// Strict YAML config loading (the controller's side; nodes get the result through
// config_handoff.h and never parse YAML). yaml-cpp 0.7 accepts duplicate keys silently and ignores keys
// nobody asks for, so every mapping is walked by hand here: each key must be known and appear
// once. Marks from yaml-cpp are 0-based; messages count lines and columns from 1.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <climits>
#include <filesystem>
#include <functional>
#include <optional>
#include <utility>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include "arbor/config.h"
#include "arbor/escape.h"
#include "config_prescan.h"
#include "embedded_config.h"

namespace arbor {
namespace {

// Thrown only inside this file and caught in Parse(); it never crosses the API.
struct ConfigError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void Fail(const YAML::Mark& at, std::string message) {
  throw ConfigError{at, std::move(message)};
}

[[noreturn]] void Fail(const YAML::Node& at, std::string message) { Fail(at.Mark(), std::move(message)); }

// A key as text. The prescan refuses sequence and mapping keys; this is the second line of
// defence, so that yaml-cpp's "bad conversion" never reaches a user.
std::string Key(const YAML::Node& k) {
  if (!k.IsScalar()) Fail(k, "keys must be plain strings");
  return k.Scalar();
}

// Visits the keys of a mapping, rejecting duplicates and keys not in `known`.
void ForEachKey(const YAML::Node& map, const char* where, std::initializer_list<const char*> known,
                const std::function<void(const std::string&, const YAML::Node&)>& visit) {
  if (!map.IsMap()) Fail(map, fmt::format("'{}' must be a mapping", where));
  std::set<std::string> seen;
  for (const auto& kv : map) {
    std::string key = Key(kv.first);
    if (!seen.insert(key).second) Fail(kv.first, fmt::format("duplicate key '{}' in {}", key, where));
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
      std::string all;
      for (const char* k : known) all += std::string(all.empty() ? "" : ", ") + k;
      Fail(kv.first, fmt::format("unknown key '{}' in {} (expected one of: {})", key, where, all));
    }
    visit(key, kv.second);
  }
}

// No config value has a use for a control character, and one that holds a newline or an
// ESC is most often a quote that was never closed, or an attempt to reach a terminal.
std::string Scalar(const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) Fail(n, fmt::format("'{}' must be a string", what));
  const std::string& s = n.Scalar();
  if (std::any_of(s.begin(), s.end(), [](char ch) {
        return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F;
      })) {
    Fail(n, fmt::format("'{}' must not contain control characters (newline, tab, ESC...): '{}'",
                        what, s));
  }
  return s;
}

// A file or directory name: not empty (control characters are refused by Scalar()).
std::string Path(const YAML::Node& n, const std::string& what) {
  std::string s = Scalar(n, what);
  if (s.empty()) Fail(n, fmt::format("'{}' must be a path, not empty", what));
  return s;
}

// Where nodes listen: a URL, so no blanks anywhere (a value with spaces is most often the
// rest of the file swallowed by a quote that was never closed).
std::string Endpoint(const YAML::Node& n) {
  std::string s = Scalar(n, "endpoint");
  if (s.find_first_of(" \t") != std::string::npos) {
    Fail(n, fmt::format("'endpoint' must not contain spaces: '{}'", s));
  }
  return s;
}

// A plugin name becomes part of a file name (libarbor_<name>.so): no '/', no dots.
std::string PluginName(const YAML::Node& n) {
  std::string s = Scalar(n, "plugin name");
  static const std::regex kName("[A-Za-z0-9_-]+");
  if (!std::regex_match(s, kName)) {
    Fail(n, fmt::format("plugin name '{}' must be letters, digits, '_' and '-'", s));
  }
  return s;
}

long long Integer(const YAML::Node& n, const std::string& what, long long lo, long long hi) {
  long long v = 0;
  std::string s = n.IsScalar() ? n.Scalar() : "";
  // stoll would skip leading blanks and take a '+': an id or a count is digits only.
  static const std::regex kDigits("-?[0-9]+");
  if (!std::regex_match(s, kDigits)) Fail(n, fmt::format("'{}' must be an integer", what));
  std::size_t used = 0;
  try {
    v = std::stoll(s, &used, 10);
  } catch (const std::out_of_range&) {
    Fail(n, fmt::format("'{}' must be between {} and {}", what, lo, hi));
  } catch (const std::exception&) {
    used = 0;
  }
  if (s.empty() || used != s.size()) Fail(n, fmt::format("'{}' must be an integer", what));
  if (v < lo || v > hi) Fail(n, fmt::format("'{}' must be between {} and {}", what, lo, hi));
  return v;
}

bool Boolean(const YAML::Node& n, const std::string& what) {
  bool b = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b)) {
    Fail(n, fmt::format("'{}' must be true or false", what));
  }
  return b;
}

PluginSpec ParsePlugin(const YAML::Node& n) {
  PluginSpec p;
  if (n.IsScalar()) {
    p.name = PluginName(n);
  } else {
    ForEachKey(n, "a plugin entry", {"name", "path", "options"}, [&](auto& key, auto& v) {
      if (key == "name") p.name = PluginName(v);
      if (key == "path") p.path = Path(v, "path");
      if (key == "options") {
        if (!v.IsMap()) Fail(v, "'options' must be a mapping");
        for (const auto& kv : v) {
          std::string k = Key(kv.first);
          if (p.options.count(k)) Fail(kv.first, fmt::format("duplicate key '{}' in options", k));
          p.options[k] = Scalar(kv.second, k);
        }
      }
    });
  }
  if (p.name.empty()) Fail(n, "a plugin entry needs a name");
  return p;
}

std::vector<PluginSpec> ParsePluginList(const YAML::Node& n) {
  if (!n.IsSequence()) Fail(n, "the plugin list must be a sequence");
  std::vector<PluginSpec> out;
  std::set<std::string> names;
  for (const auto& item : n) {
    out.push_back(ParsePlugin(item));
    if (!names.insert(out.back().name).second) {
      Fail(item, fmt::format("plugin '{}' is listed twice", out.back().name));
    }
  }
  return out;
}

std::vector<NodeSpec> ParseNodes(const YAML::Node& n) {
  if (!n.IsSequence()) Fail(n, "'nodes' must be a sequence");
  std::vector<NodeSpec> out;
  std::set<NodeId> ids;
  for (const auto& item : n) {
    NodeSpec s;
    bool has_id = false;
    if (item.IsScalar()) {
      s.id = Integer(item, "node id", LLONG_MIN, LLONG_MAX);
      has_id = true;
    } else {
      ForEachKey(item, "a node entry", {"id", "plugins", "host"}, [&](auto& key, auto& v) {
        if (key == "id") s.id = Integer(v, "id", LLONG_MIN, LLONG_MAX), has_id = true;
        if (key == "plugins") s.plugins = ParsePluginList(v);
        if (key == "host") s.host = Scalar(v, "host");
      });
    }
    if (!has_id) Fail(item, "a node entry needs an id");
    if (!ids.insert(s.id).second) Fail(item, fmt::format("node {} is listed twice", s.id));
    out.push_back(std::move(s));
  }
  return out;
}

TlsFiles ParseTls(const YAML::Node& n, TlsFiles t) {
  ForEachKey(n, "tls", {"ca", "cert", "key"}, [&](auto& k, auto& v) {
    if (k == "ca") t.ca = Path(v, k);
    if (k == "cert") t.cert = Path(v, k);
    if (k == "key") t.key = Path(v, k);
  });
  return t;
}

// A word that goes into a URL or onto an ssh command line: no spaces, quotes or controls.
std::string Word(const YAML::Node& n, const std::string& what) {
  std::string s = Scalar(n, what);
  static const std::regex kWord(R"([A-Za-z0-9._:\[\]-]+)");
  if (!std::regex_match(s, kWord)) {
    Fail(n, fmt::format("'{}' must be a host name or address (letters, digits, '.', '-', ':')",
                        what));
  }
  return s;
}

void ParseSsh(const YAML::Node& n, HostSpec& h) {
  ForEachKey(n, "ssh", {"user", "port", "identity", "known_hosts", "options"}, [&](auto& k, auto& v) {
    if (k == "user") h.ssh_user = Word(v, k);
    if (k == "port") h.ssh_port = Integer(v, k, 1, 65535);
    if (k == "identity") h.ssh_identity = Path(v, k);
    if (k == "known_hosts") h.ssh_known_hosts = Path(v, k);
    if (k == "options") {
      if (!v.IsSequence()) Fail(v, "'options' must be a sequence of ssh -o options");
      for (const auto& o : v) {
        std::string opt = Scalar(o, "ssh option");
        if (opt.find('=') == std::string::npos || opt.find_first_of(" \t\n'\"") != std::string::npos) {
          Fail(o, "an ssh option is written Key=value, without spaces or quotes");
        }
        h.ssh_options.push_back(opt);
      }
    }
  });
}

// tls overrides apply on top of the deployment's transport.tls, which is complete only after
// the whole file is read: hosts keep their overrides here and are merged in MergeHostTls().
struct HostOverrides {
  std::optional<YAML::Node> tls;  // a default YAML::Node is a defined null, hence optional
};

HostSpec ParseHost(const YAML::Node& n, HostOverrides& over) {
  HostSpec h;
  bool has_ssh = false;
  ForEachKey(n, "a host entry", {"name", "address", "launch", "ssh", "arbor_node", "tls"},
             [&](auto& k, auto& v) {
    if (k == "name") h.name = Word(v, k);
    if (k == "address") h.address = Word(v, k);
    if (k == "launch") {
      std::string l = Scalar(v, k);
      if (l == "local") h.launch = HostSpec::Launch::kLocal;
      else if (l == "ssh") h.launch = HostSpec::Launch::kSsh;
      else if (l == "external") h.launch = HostSpec::Launch::kExternal;
      else Fail(v, "launch must be 'local', 'ssh' or 'external'");
    }
    if (k == "ssh") ParseSsh(v, h), has_ssh = true;
    if (k == "arbor_node") h.arbor_node = Path(v, k);
    if (k == "tls") over.tls = v;
  });
  if (h.name.empty() || h.address.empty()) Fail(n, "a host entry needs a name and an address");
  if (has_ssh && h.launch != HostSpec::Launch::kSsh) {
    Fail(n, fmt::format("host '{}' has ssh settings but does not say 'launch: ssh'", h.name));
  }
  return h;
}

void ParseHosts(const YAML::Node& n, Config& c, std::vector<HostOverrides>& over) {
  if (!n.IsSequence()) Fail(n, "'hosts' must be a sequence");
  std::set<std::string> names;
  for (const auto& item : n) {
    over.emplace_back();
    c.hosts.push_back(ParseHost(item, over.back()));
    if (!names.insert(c.hosts.back().name).second) {
      Fail(item, fmt::format("host '{}' is listed twice", c.hosts.back().name));
    }
  }
}

bool IsLoopback(const std::string& host) {
  static const std::regex kLoopback(R"((127\.\d{1,3}\.\d{1,3}\.\d{1,3})|localhost|\[::1\]|::1)");
  return std::regex_match(host, kLoopback);
}

// With hosts, every node listens at its host's address, on port_base + its id.
void CheckHostEndpoint(const YAML::Mark& at, const Config& c) {
  const std::string& e = c.endpoint;
  bool tls = e.rfind("tls+tcp://", 0) == 0;
  if (!tls && e.rfind("tcp://", 0) != 0) {
    Fail(at, fmt::format("with hosts, the endpoint must be tcp:// or tls+tcp:// (not '{}'), "
                         "e.g. \"tls+tcp://{{address}}:{{port}}\"", e));
  }
  if (e.find("{address}") == std::string::npos || e.find("{port}") == std::string::npos) {
    Fail(at, "with hosts, the endpoint must contain {address} and {port}, e.g. "
             "\"tls+tcp://{address}:{port}\"");
  }
  for (const HostSpec& h : c.hosts) {
    if (!tls && !c.insecure && !IsLoopback(h.address)) {
      Fail(at, fmt::format("host '{}' ({}) would get plain tcp beyond loopback: use tls+tcp, or set "
                           "'insecure: true' under transport", h.name, h.address));
    }
  }
}

// Whether the files can be read is checked by the process that uses them, on its own host
// (CheckTlsReadable), not here: the controller and an external node load the same file.
void CheckTls(const YAML::Mark& at, const Config& c) {
  if (c.endpoint.rfind("tls+tcp://", 0) != 0) return;
  if (!c.tls.complete()) Fail(at, "a tls+tcp endpoint needs transport.tls with ca, cert and key");
  for (const HostSpec& h : c.hosts) {
    if (!h.tls.complete()) {
      Fail(at, fmt::format("host '{}' has no complete tls (ca, cert, key)", h.name));
    }
  }
}

// Listening beyond loopback must be asked for: the nodes take commands from anyone who connects.
void CheckEndpoint(const YAML::Mark& at, const Config& c) {
  const std::string& e = c.endpoint;
  static const char* kSchemes[] = {"abstract://", "ipc://", "inproc://", "tcp://", "tcp4://",
                                   "tcp6://", "ws://", "tls+tcp://"};
  if (std::none_of(std::begin(kSchemes), std::end(kSchemes),
                   [&](const char* s) { return e.rfind(s, 0) == 0; })) {
    Fail(at, fmt::format("endpoint '{}' has no transport nng knows (abstract, ipc, tcp...)", e));
  }
  auto p = e.find("://");
  std::string rest = e.substr(p + 3);
  bool network = e.rfind("tcp", 0) == 0 || e.rfind("ws", 0) == 0 || e.rfind("tls", 0) == 0;
  std::string host = rest.substr(0, rest.find('/'));
  std::string port;
  if (auto colon = host.rfind(':'); colon != std::string::npos && host.back() != ']') {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  bool kernel_port = network && port == "0";
  if (e.find("{id}") == std::string::npos && !kernel_port) {
    Fail(at, "endpoint must contain {id} (or be tcp with port 0) so that nodes do not collide");
  }
  if (network && !IsLoopback(host)) {
    if (!c.allow_remote) {
      Fail(at, fmt::format("endpoint '{}' listens beyond loopback; set 'allow_remote: true' in "
                           "transport if that is intended", e));
    }
    if (e.rfind("tls+tcp://", 0) != 0 && !c.insecure) {
      Fail(at, fmt::format("endpoint '{}' is plain tcp beyond loopback: use tls+tcp, or set "
                           "'insecure: true' in transport", e));
    }
  }
}

// Every host a node or the placement names exists, and nodes placed by `nodes:` get ports.
void CheckHosts(const YAML::Node& root, const Config& c) {
  if (c.placement == Config::Placement::kHost && !c.Host(c.placement_host)) {
    Fail(root["placement"], fmt::format("placement must be 'parent', 'round-robin' or a host "
                                        "name; there is no host '{}'", c.placement_host));
  }
  if (c.hosts.empty() && c.placement != Config::Placement::kParent) {
    Fail(root["placement"], "placement needs a 'hosts' list");
  }
  YAML::Node nodes = root["nodes"];
  std::size_t i = 0;
  for (const NodeSpec& n : c.nodes) {
    YAML::Node item = nodes && nodes.IsSequence() && i < nodes.size() ? nodes[i] : root;
    ++i;
    if (!n.host.empty() && !c.Host(n.host)) {
      Fail(item, fmt::format("node {} names host '{}', which 'hosts' does not list", n.id, n.host));
    }
    if (!c.hosts.empty() && !c.PortFor(n.id)) {
      Fail(item, fmt::format("node {} would listen on port {} + {}, outside 1-65535", n.id,
                             c.port_base, n.id));
    }
  }
}

Config Parse(const YAML::Node& root) {
  Config c;
  if (root.IsNull()) return c;
  std::vector<HostOverrides> host_overrides;
  // A Mark, not a Node: assigning a YAML::Node writes through into the document.
  YAML::Mark endpoint_mark = root.Mark();
  ForEachKey(root, "the top level",
             {"transport", "timeouts", "plugins", "nodes", "data_dir", "log_level", "restart",
              "restart_limit", "hosts", "placement", "max_nodes"},
             [&](auto& key, auto& v) {
    if (key == "transport") {
      ForEachKey(v, "transport",
                 {"endpoint", "allow_remote", "max_message_bytes", "reconnect_min_ms",
                  "reconnect_max_ms", "max_connections", "port_base", "insecure", "tls"},
                 [&](auto& k, auto& x) {
        if (k == "port_base") c.port_base = Integer(x, k, 1, 65535);
        if (k == "insecure") c.insecure = Boolean(x, k);
        if (k == "tls") c.tls = ParseTls(x, c.tls);
        if (k == "endpoint") c.endpoint = Endpoint(x), endpoint_mark = x.Mark();
        if (k == "allow_remote") c.allow_remote = Boolean(x, k);
        if (k == "max_message_bytes") c.max_message_bytes = Integer(x, k, 1024, 256 << 20);
        if (k == "reconnect_min_ms") c.reconnect_min_ms = Integer(x, k, 1, 60000);
        if (k == "reconnect_max_ms") c.reconnect_max_ms = Integer(x, k, 1, 600000);
        if (k == "max_connections") c.max_connections = Integer(x, k, 2, 65536);
      });
    } else if (key == "timeouts") {
      ForEachKey(v, "timeouts", {"request_ms", "start_ms", "orphan_grace_ms"}, [&](auto& k, auto& x) {
        if (k == "request_ms") c.request_ms = Integer(x, k, 1, 3600000);
        if (k == "start_ms") c.start_ms = Integer(x, k, 10, 600000);
        if (k == "orphan_grace_ms") c.orphan_grace_ms = Integer(x, k, 0, 86400000);
      });
    } else if (key == "plugins") {
      ForEachKey(v, "plugins", {"search_path", "load"}, [&](auto& k, auto& x) {
        if (k == "search_path") {
          if (!x.IsSequence()) Fail(x, "'search_path' must be a sequence of directories");
          c.plugin_path.clear();
          for (const auto& d : x) c.plugin_path.push_back(Path(d, "search_path entry"));
        }
        if (k == "load") c.plugins = ParsePluginList(x);
      });
    } else if (key == "nodes") {
      c.nodes = ParseNodes(v);
    } else if (key == "hosts") {
      ParseHosts(v, c, host_overrides);
    } else if (key == "placement") {
      std::string p = Scalar(v, key);
      if (p == "parent") c.placement = Config::Placement::kParent;
      else if (p == "round-robin") c.placement = Config::Placement::kRoundRobin;
      else c.placement = Config::Placement::kHost, c.placement_host = p;
    } else if (key == "restart") {
      std::string r = Scalar(v, key);
      if (r != "never" && r != "on-failure") Fail(v, "restart must be 'never' or 'on-failure'");
      c.restart = r == "never" ? Config::Restart::kNever : Config::Restart::kOnFailure;
    } else if (key == "restart_limit") {
      ForEachKey(v, "restart_limit", {"max_restarts", "window_ms"}, [&](auto& k, auto& x) {
        if (k == "max_restarts") c.max_restarts = Integer(x, k, 0, 1000000);
        if (k == "window_ms") c.restart_window_ms = Integer(x, k, 1, 86400000);
      });
    } else if (key == "max_nodes") {
      c.max_nodes = Integer(v, key, 1, kMaxNodesLimit);
    } else if (key == "data_dir") {
      c.data_dir = Scalar(v, key);
    } else if (key == "log_level") {
      c.log_level = Scalar(v, key);
      static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn",
                                                    "error", "critical", "off"};
      if (!kLevels.count(c.log_level)) Fail(v, "log_level must be one of trace, debug, info, "
                                               "warn, error, critical, off");
    }
  });
  if (c.nodes.size() > c.max_nodes) {
    Fail(root["nodes"], fmt::format("'nodes' lists {} nodes, more than max_nodes ({}); raise "
                                    "max_nodes if that many is intended", c.nodes.size(),
                                    c.max_nodes));
  }
  if (c.reconnect_max_ms < c.reconnect_min_ms) {
    Fail(root, "reconnect_max_ms must not be smaller than reconnect_min_ms");
  }
  for (std::size_t i = 0; i < c.hosts.size(); ++i) {
    const std::optional<YAML::Node>& over = host_overrides[i].tls;
    c.hosts[i].tls = over ? ParseTls(*over, c.tls) : c.tls;
  }
  CheckHosts(root, c);
  if (c.hosts.empty()) {
    CheckEndpoint(endpoint_mark, c);
  } else {
    CheckHostEndpoint(endpoint_mark, c);
  }
  CheckTls(endpoint_mark, c);
  // A respawned node must come back where its parent and its children look for it.
  if (c.restart == Config::Restart::kOnFailure && c.endpoint.find("{id}") == std::string::npos &&
      c.endpoint.find("{port}") == std::string::npos) {
    Fail(endpoint_mark, "restart: on-failure needs an endpoint with {id} (a fixed address per "
                        "node), not a kernel-chosen tcp port");
  }
  return c;
}

// Every config error goes through here: the whole message is escaped, since it quotes the
// file (and its name), and must stay one line that cannot drive the terminal.
std::string Located(const std::string& source, int line, int column, const std::string& msg) {
  if (line < 0) return Escape(fmt::format("{}: {}", source, msg));  // yaml-cpp's null mark
  return Escape(fmt::format("{}:{}:{}: {}", source, line + 1, column + 1, msg));
}

// What yaml-cpp says, in words a user can act on where its own are empty.
std::string YamlMessage(const YAML::Exception& e) {
  if (dynamic_cast<const YAML::DeepRecursion*>(&e)) {
    return fmt::format("nesting deeper than {} levels", kMaxConfigNesting);
  }
  return e.msg;
}

// A file is read only if it is a regular file of at most kMaxConfigBytes: /dev/zero would be
// read until memory runs out, and a FIFO with no writer would block the open forever.
Result<std::string> ReadConfigText(const std::string& path) {
  auto failed = [&](const char* what) {
    return NotFound(Escape(fmt::format("{}: {}: {}", path, what, std::strerror(errno))));
  };
  auto not_regular = [&] {
    return InvalidArgument(Escape(fmt::format("{}: not a regular file; a config must be one",
                                              path)));
  };
  auto too_big = [&](std::size_t size) {
    return InvalidArgument(Escape(fmt::format("{}: the file is {} bytes; a config may be at most "
                                              "{} bytes (1 MiB)", path, size, kMaxConfigBytes)));
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return failed("cannot open config file");
  if (!S_ISREG(st.st_mode)) return not_regular();
  // The file may have been swapped since stat(): O_NONBLOCK keeps the open from blocking on a
  // FIFO, and fstat() checks what was really opened.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return failed("cannot open config file");
  std::string text;
  Status status = Status::Ok();
  if (::fstat(fd, &st) != 0) {
    status = failed("cannot stat config file");
  } else if (!S_ISREG(st.st_mode)) {
    status = not_regular();
  } else if (static_cast<std::size_t>(st.st_size) > kMaxConfigBytes) {
    status = too_big(static_cast<std::size_t>(st.st_size));
  } else {
    // Read one byte past the cap, so a file that grew after fstat() is still caught.
    text.resize(kMaxConfigBytes + 1);
    std::size_t got = 0;
    while (got < text.size()) {
      ssize_t n = ::read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = failed("cannot read config file");
        break;
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    if (status.ok() && got > kMaxConfigBytes) status = too_big(got);
  }
  ::close(fd);
  if (!status.ok()) return status;
  return text;
}

}  // namespace

Result<Config> LoadConfigString(std::string_view yaml, const std::string& source_name) {
  try {
    if (std::optional<PrescanError> e = PrescanConfig(yaml)) {
      return InvalidArgument(Located(source_name, e->line, e->column, e->message));
    }
    Config c = Parse(YAML::Load(std::string(yaml)));
    c.source = source_name;
    return c;
  } catch (const ConfigError& e) {
    return InvalidArgument(Located(source_name, e.mark.line, e.mark.column, e.message));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(Located(source_name, e.mark.line, e.mark.column, YamlMessage(e)));
  }
}

Result<Config> LoadConfigFile(const std::string& path) {
  Result<std::string> text = ReadConfigText(path);
  if (!text.ok()) return text.status();
  return LoadConfigString(*text, path);
}

Status CheckTlsReadable(const TlsFiles& tls) {
  for (auto [what, path] : {std::pair{"ca", &tls.ca}, {"cert", &tls.cert}, {"key", &tls.key}}) {
    if (path->empty() || ::access(path->c_str(), R_OK) == 0) continue;
    return FailedPrecondition(fmt::format("tls {} '{}' cannot be read: {}", what, *path,
                                          std::strerror(errno)));
  }
  return Status::Ok();
}

Result<Config> LoadDefaultConfig() {
  return LoadConfigString(kEmbeddedDefaultConfig, "<embedded configs/default.yaml>");
}

}  // namespace arbor
