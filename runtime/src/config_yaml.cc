// Strict YAML config loading (the controller's side; nodes get the result through
// config_handoff.h and never parse YAML). yaml-cpp 0.7 accepts duplicate keys silently and ignores keys
// nobody asks for, so every mapping is walked by hand here: each key must be known and appear
// once. Marks from yaml-cpp are 0-based; messages count lines and columns from 1.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "arbor/config.h"
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

// Visits the keys of a mapping, rejecting duplicates and keys not in `known`.
void ForEachKey(const YAML::Node& map, const char* where, std::initializer_list<const char*> known,
                const std::function<void(const std::string&, const YAML::Node&)>& visit) {
  if (!map.IsMap()) Fail(map, fmt::format("'{}' must be a mapping", where));
  std::set<std::string> seen;
  for (const auto& kv : map) {
    auto key = kv.first.template as<std::string>();
    if (!seen.insert(key).second) Fail(kv.first, fmt::format("duplicate key '{}' in {}", key, where));
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; })) {
      std::string all;
      for (const char* k : known) all += std::string(all.empty() ? "" : ", ") + k;
      Fail(kv.first, fmt::format("unknown key '{}' in {} (expected one of: {})", key, where, all));
    }
    visit(key, kv.second);
  }
}

std::string Scalar(const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) Fail(n, fmt::format("'{}' must be a string", what));
  return n.Scalar();
}

long long Integer(const YAML::Node& n, const std::string& what, long long lo, long long hi) {
  long long v = 0;
  std::string s = n.IsScalar() ? n.Scalar() : "";
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
    p.name = n.Scalar();
  } else {
    ForEachKey(n, "a plugin entry", {"name", "path", "options"}, [&](auto& key, auto& v) {
      if (key == "name") p.name = Scalar(v, "name");
      if (key == "path") p.path = Scalar(v, "path");
      if (key == "options") {
        if (!v.IsMap()) Fail(v, "'options' must be a mapping");
        for (const auto& kv : v) {
          auto k = kv.first.template as<std::string>();
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
      ForEachKey(item, "a node entry", {"id", "plugins"}, [&](auto& key, auto& v) {
        if (key == "id") s.id = Integer(v, "id", LLONG_MIN, LLONG_MAX), has_id = true;
        if (key == "plugins") s.plugins = ParsePluginList(v);
      });
    }
    if (!has_id) Fail(item, "a node entry needs an id");
    if (!ids.insert(s.id).second) Fail(item, fmt::format("node {} is listed twice", s.id));
    out.push_back(std::move(s));
  }
  return out;
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
  if (network && !c.allow_remote) {
    static const std::regex kLoopback(R"((127\.\d{1,3}\.\d{1,3}\.\d{1,3})|localhost|\[::1\])");
    if (!std::regex_match(host, kLoopback)) {
      Fail(at, fmt::format("endpoint '{}' listens beyond loopback; set 'allow_remote: true' in "
                           "transport if that is intended", e));
    }
  }
}

Config Parse(const YAML::Node& root) {
  Config c;
  if (root.IsNull()) return c;
  // A Mark, not a Node: assigning a YAML::Node writes through into the document.
  YAML::Mark endpoint_mark = root.Mark();
  ForEachKey(root, "the top level",
             {"transport", "timeouts", "plugins", "nodes", "data_dir", "log_level", "restart",
              "restart_limit"},
             [&](auto& key, auto& v) {
    if (key == "transport") {
      ForEachKey(v, "transport",
                 {"endpoint", "allow_remote", "max_message_bytes", "reconnect_min_ms",
                  "reconnect_max_ms"},
                 [&](auto& k, auto& x) {
        if (k == "endpoint") c.endpoint = Scalar(x, k), endpoint_mark = x.Mark();
        if (k == "allow_remote") c.allow_remote = Boolean(x, k);
        if (k == "max_message_bytes") c.max_message_bytes = Integer(x, k, 1024, 256 << 20);
        if (k == "reconnect_min_ms") c.reconnect_min_ms = Integer(x, k, 1, 60000);
        if (k == "reconnect_max_ms") c.reconnect_max_ms = Integer(x, k, 1, 600000);
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
          for (const auto& d : x) c.plugin_path.push_back(Scalar(d, "search_path entry"));
        }
        if (k == "load") c.plugins = ParsePluginList(x);
      });
    } else if (key == "nodes") {
      c.nodes = ParseNodes(v);
    } else if (key == "restart") {
      std::string r = Scalar(v, key);
      if (r != "never" && r != "on-failure") Fail(v, "restart must be 'never' or 'on-failure'");
      c.restart = r == "never" ? Config::Restart::kNever : Config::Restart::kOnFailure;
    } else if (key == "restart_limit") {
      ForEachKey(v, "restart_limit", {"max_restarts", "window_ms"}, [&](auto& k, auto& x) {
        if (k == "max_restarts") c.max_restarts = Integer(x, k, 0, 1000000);
        if (k == "window_ms") c.restart_window_ms = Integer(x, k, 1, 86400000);
      });
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
  if (c.reconnect_max_ms < c.reconnect_min_ms) {
    Fail(root, "reconnect_max_ms must not be smaller than reconnect_min_ms");
  }
  CheckEndpoint(endpoint_mark, c);
  // A respawned node must come back where its parent and its children look for it.
  if (c.restart == Config::Restart::kOnFailure && c.endpoint.find("{id}") == std::string::npos) {
    Fail(endpoint_mark, "restart: on-failure needs an endpoint with {id} (a fixed address per "
                        "node), not a kernel-chosen tcp port");
  }
  return c;
}

std::string Located(const std::string& source, int line, int column, const std::string& msg) {
  return fmt::format("{}:{}:{}: {}", source, line + 1, column + 1, msg);
}

}  // namespace

Result<Config> LoadConfigString(std::string_view yaml, const std::string& source_name) {
  try {
    Config c = Parse(YAML::Load(std::string(yaml)));
    c.source = source_name;
    return c;
  } catch (const ConfigError& e) {
    return InvalidArgument(Located(source_name, e.mark.line, e.mark.column, e.message));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(Located(source_name, e.mark.line, e.mark.column, e.msg));
  }
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(fmt::format("{}: cannot open config file", path));
  std::stringstream text;
  text << in.rdbuf();
  return LoadConfigString(text.str(), path);
}

Result<Config> LoadDefaultConfig() {
  return LoadConfigString(kEmbeddedDefaultConfig, "<embedded configs/default.yaml>");
}

}  // namespace arbor
