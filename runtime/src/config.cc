// Config: what every holder of a Config needs, without YAML (see config_yaml.cc for loading).
#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "arbor/config.h"

namespace arbor {

const std::vector<PluginSpec>& Config::PluginsFor(NodeId id) const {
  for (const NodeSpec& n : nodes) {
    if (n.id == id && n.plugins) return *n.plugins;
  }
  return plugins;
}

std::string Config::EndpointFor(std::string_view session, NodeId id, std::string_view host) const {
  std::string out = endpoint;
  auto replace = [&](std::string_view key, const std::string& value) {
    for (auto p = out.find(key); p != std::string::npos; p = out.find(key, p + value.size())) {
      out.replace(p, key.size(), value);
    }
  };
  replace("{session}", std::string(session));
  replace("{id}", std::to_string(id));
  if (const HostSpec* h = Host(host)) replace("{address}", h->address);
  if (std::optional<int> port = PortFor(id)) replace("{port}", std::to_string(*port));
  return out;
}

std::optional<int> Config::PortFor(NodeId id) const {
  if (id < 1 - static_cast<NodeId>(port_base) || id > 65535 - static_cast<NodeId>(port_base)) {
    return std::nullopt;
  }
  return static_cast<int>(port_base + id);
}

const HostSpec* Config::Host(std::string_view name) const {
  for (const HostSpec& h : hosts) {
    if (h.name == name) return &h;
  }
  return nullptr;
}

std::string Config::HostOf(NodeId id) const {
  for (const NodeSpec& n : nodes) {
    if (n.id == id) return n.host;
  }
  return "";
}

const TlsFiles& Config::TlsFor(std::string_view host) const {
  const HostSpec* h = Host(host);
  return h ? h->tls : tls;
}

std::string ExpandOrigin(std::string_view path) {
  constexpr std::string_view kOrigin = "$ORIGIN";
  if (path.substr(0, kOrigin.size()) != kOrigin) return std::string(path);
  if (path.size() > kOrigin.size() && path[kOrigin.size()] != '/') return std::string(path);
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::string dir = ec ? "." : exe.parent_path().string();
  return dir + std::string(path.substr(kOrigin.size()));
}

Result<std::string> LocatePlugin(const Config& config, const PluginSpec& spec) {
  namespace fs = std::filesystem;
  if (!spec.path.empty()) {
    std::string p = ExpandOrigin(spec.path);
    if (!fs::exists(p)) return NotFound(fmt::format("plugin '{}': no file {}", spec.name, p));
    return p;
  }
  std::string file = "libarbor_" + spec.name + ".so";
  std::string tried;
  for (const std::string& dir : config.plugin_path) {
    fs::path p = fs::path(ExpandOrigin(dir)) / file;
    if (fs::exists(p)) return fs::absolute(p).lexically_normal().string();
    tried += (tried.empty() ? "" : ", ") + p.string();
  }
  return NotFound(fmt::format("plugin '{}': {} not found (looked in: {})", spec.name, file,
                              tried.empty() ? "no search_path" : tried));
}

}  // namespace arbor
