// Layout: u32 magic "ACFG", u32 layout version, then the fields of Config in declaration
// order (integers as u64, strings as u32 length + bytes, lists as u32 count + items).
#include "arbor/config_handoff.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "codec.h"

namespace arbor {
namespace {

constexpr std::uint32_t kConfigMagic = 0x47464341;  // "ACFG"
constexpr std::uint32_t kConfigLayout = 3;  // 3: transport.max_connections
constexpr std::size_t kMaxItems = 1 << 20;

void PutStrings(Writer& w, const std::vector<std::string>& v) {
  w.U32(static_cast<std::uint32_t>(v.size()));
  for (const std::string& s : v) w.Str(s);
}

std::vector<std::string> GetStrings(Reader& r) {
  std::vector<std::string> v(r.Count(kMaxItems, 4, "string"));
  for (std::string& s : v) s = r.Str();
  return v;
}

void PutPlugins(Writer& w, const std::vector<PluginSpec>& plugins) {
  w.U32(static_cast<std::uint32_t>(plugins.size()));
  for (const PluginSpec& p : plugins) {
    w.Str(p.name);
    w.Str(p.path);
    w.U32(static_cast<std::uint32_t>(p.options.size()));
    for (const auto& [k, v] : p.options) {
      w.Str(k);
      w.Str(v);
    }
  }
}

std::vector<PluginSpec> GetPlugins(Reader& r) {
  std::vector<PluginSpec> plugins(r.Count(kMaxItems, 12, "plugin"));
  for (PluginSpec& p : plugins) {
    p.name = r.Str();
    p.path = r.Str();
    std::uint32_t n = r.Count(kMaxItems, 8, "option");
    for (std::uint32_t i = 0; i < n; ++i) {
      std::string k = r.Str();
      p.options[k] = r.Str();
    }
  }
  return plugins;
}

void PutTls(Writer& w, const TlsFiles& t) {
  w.Str(t.ca);
  w.Str(t.cert);
  w.Str(t.key);  // a path: the key itself never leaves its host
}

TlsFiles GetTls(Reader& r) {
  TlsFiles t;
  t.ca = r.Str();
  t.cert = r.Str();
  t.key = r.Str();
  return t;
}

void PutHosts(Writer& w, const std::vector<HostSpec>& hosts) {
  w.U32(static_cast<std::uint32_t>(hosts.size()));
  for (const HostSpec& h : hosts) {
    w.Str(h.name);
    w.Str(h.address);
    w.U8(static_cast<std::uint8_t>(h.launch));
    w.Str(h.ssh_user);
    w.U64(static_cast<std::uint64_t>(h.ssh_port));
    w.Str(h.ssh_identity);
    w.Str(h.ssh_known_hosts);
    PutStrings(w, h.ssh_options);
    w.Str(h.arbor_node);
    PutTls(w, h.tls);
  }
}

std::vector<HostSpec> GetHosts(Reader& r) {
  std::vector<HostSpec> hosts(r.Count(kMaxItems, 40, "host"));
  for (HostSpec& h : hosts) {
    h.name = r.Str();
    h.address = r.Str();
    std::uint8_t launch = r.U8();
    h.launch = launch > 2 ? HostSpec::Launch::kLocal : static_cast<HostSpec::Launch>(launch);
    h.ssh_user = r.Str();
    h.ssh_port = static_cast<int>(r.U64() & 0xffff);
    h.ssh_identity = r.Str();
    h.ssh_known_hosts = r.Str();
    h.ssh_options = GetStrings(r);
    h.arbor_node = r.Str();
    h.tls = GetTls(r);
  }
  return hosts;
}

}  // namespace

std::string EncodeConfig(const Config& c) {
  Writer w;
  w.U32(kConfigMagic);
  w.U32(kConfigLayout);
  w.Str(c.source);
  w.Str(c.endpoint);
  w.U8(c.allow_remote);
  w.U64(c.max_message_bytes);
  for (int v : {c.reconnect_min_ms, c.reconnect_max_ms, c.max_connections, c.request_ms,
                c.start_ms, c.orphan_grace_ms}) {
    w.U64(static_cast<std::uint64_t>(v));
  }
  PutStrings(w, c.plugin_path);
  PutPlugins(w, c.plugins);
  w.U8(c.restart == Config::Restart::kOnFailure);
  w.U64(static_cast<std::uint64_t>(c.max_restarts));
  w.U64(static_cast<std::uint64_t>(c.restart_window_ms));
  w.U32(static_cast<std::uint32_t>(c.nodes.size()));
  for (const NodeSpec& n : c.nodes) {
    w.U64(static_cast<std::uint64_t>(n.id));
    w.U8(n.plugins.has_value());
    if (n.plugins) PutPlugins(w, *n.plugins);
  }
  w.Str(c.data_dir);
  w.Str(c.log_level);
  w.U64(static_cast<std::uint64_t>(c.port_base));
  w.U8(c.insecure);
  PutTls(w, c.tls);
  PutHosts(w, c.hosts);
  w.U8(static_cast<std::uint8_t>(c.placement));
  w.Str(c.placement_host);
  for (const NodeSpec& n : c.nodes) w.Str(n.host);
  return w.Take();
}

Result<Config> DecodeConfig(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  if (r.U32() != kConfigMagic || r.U32() != kConfigLayout) {
    return InvalidArgument("config handoff: not a config of this arbor build");
  }
  Config c;
  c.source = r.Str();
  c.endpoint = r.Str();
  c.allow_remote = r.U8() != 0;
  c.max_message_bytes = r.U64();
  for (int* v : {&c.reconnect_min_ms, &c.reconnect_max_ms, &c.max_connections, &c.request_ms,
                 &c.start_ms, &c.orphan_grace_ms}) {
    *v = static_cast<int>(r.U64());
  }
  c.plugin_path = GetStrings(r);
  c.plugins = GetPlugins(r);
  c.restart = r.U8() != 0 ? Config::Restart::kOnFailure : Config::Restart::kNever;
  c.max_restarts = static_cast<int>(r.U64());
  c.restart_window_ms = static_cast<int>(r.U64());
  c.nodes.resize(r.Count(kMaxItems, 9, "node"));
  for (NodeSpec& n : c.nodes) {
    n.id = static_cast<NodeId>(r.U64());
    if (r.U8() != 0) n.plugins = GetPlugins(r);
  }
  c.data_dir = r.Str();
  c.log_level = r.Str();
  c.port_base = static_cast<int>(r.U64() & 0xffff);
  c.insecure = r.U8() != 0;
  c.tls = GetTls(r);
  c.hosts = GetHosts(r);
  std::uint8_t placement = r.U8();
  c.placement = placement > 2 ? Config::Placement::kParent
                              : static_cast<Config::Placement>(placement);
  c.placement_host = r.Str();
  for (NodeSpec& n : c.nodes) n.host = r.Str();
  if (!r.error().empty()) return InvalidArgument("config handoff: " + r.error());
  if (!r.AtEnd()) return InvalidArgument("config handoff: trailing bytes");
  return c;
}

std::string ConfigToHex(const Config& config) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string bytes = EncodeConfig(config), out;
  out.reserve(2 * bytes.size());
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

Result<Config> ConfigFromHex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return InvalidArgument("config handoff: odd number of hex digits");
  std::vector<std::uint8_t> bytes(hex.size() / 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgument("config handoff: not lowercase hex");
    bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return DecodeConfig(bytes);
}

std::string ConfigDigest(const Config& config) {
  Config c = config;
  c.source.clear();  // the same deployment read from another path is the same deployment
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a: a mismatch check, not a security one
  for (unsigned char b : EncodeConfig(c)) h = (h ^ b) * 1099511628211ull;
  return fmt::format("{:016x}", h);
}

Result<int> ConfigToFd(const Config& config) {
  std::string bytes = EncodeConfig(config);
  int fd = ::memfd_create("arbor-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return Internal(fmt::format("memfd_create: {}", std::strerror(errno)));
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return Internal(fmt::format("writing the config memfd: {}", std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
  // Sealed, no node can change what the others read.
  ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  return fd;
}

Result<Config> ConfigFromFd(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return InvalidArgument(fmt::format("config descriptor {}: {}", fd, std::strerror(errno)));
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return InvalidArgument(fmt::format("config descriptor {}: short read", fd));
    done += static_cast<std::size_t>(n);
  }
  return DecodeConfig({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

}  // namespace arbor
