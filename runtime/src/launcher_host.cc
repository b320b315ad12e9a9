// HostLauncher: picks the launcher for the host a node is placed on, and names the host in
// every error, so that `create` says which machine failed and why.
#include <fmt/format.h>

#include "arbor/launcher.h"
#include "launchers.h"

namespace arbor {
namespace {

class HostLauncher final : public Launcher {
 public:
  HostLauncher(const Config& config, std::string self_host, Launcher& local)
      : config_(config),
        self_host_(std::move(self_host)),
        local_(local),
        ssh_(MakeSshLauncher(config)),
        external_(MakeExternalLauncher(config, LinkFor(config, self_host_))) {}

  Result<LaunchedNode> Launch(const NodeLaunch& l) override {
    if (config_.hosts.empty()) return local_.Launch(l);
    const HostSpec* h = config_.Host(l.host);
    if (h == nullptr) return NotFound(fmt::format("no host '{}' in the deployment", l.host));
    if (!config_.PortFor(l.id)) {
      return InvalidArgument(fmt::format("node {} would listen on port {} + {}, outside 1-65535",
                                         l.id, config_.port_base, l.id));
    }
    Result<LaunchedNode> r = Pick(*h).Launch(l);
    if (r.ok()) return r;
    return Status(r.status().code(),
                  fmt::format("host {} ({}): {}", h->name, h->address, r.status().message()));
  }

 private:
  static LinkOptions LinkFor(const Config& c, const std::string& self) {
    return LinkOptions{c.max_message_bytes, c.reconnect_min_ms, c.reconnect_max_ms, c.TlsFor(self)};
  }

  Launcher& Pick(const HostSpec& h) {
    if (h.name == self_host_) return local_;
    switch (h.launch) {
      case HostSpec::Launch::kSsh: return *ssh_;
      case HostSpec::Launch::kExternal: return *external_;
      case HostSpec::Launch::kLocal: break;
    }
    const HostSpec* self = config_.Host(self_host_);
    if (self_host_.empty() || (self && self->launch == HostSpec::Launch::kLocal)) return local_;
    return refuse_;
  }

  // A `local` host is the controller's machine: a node on another machine cannot start a
  // process there.
  struct Refuse final : Launcher {
    Result<LaunchedNode> Launch(const NodeLaunch& l) override {
      return FailedPrecondition(fmt::format(
          "launch: local starts nodes on the controller's machine only; node {} would be "
          "started there from another host (give the host 'launch: ssh')", l.id));
    }
  } refuse_;

  const Config& config_;
  const std::string self_host_;
  Launcher& local_;
  std::unique_ptr<Launcher> ssh_;
  std::unique_ptr<Launcher> external_;
};

}  // namespace

std::unique_ptr<Launcher> MakeHostLauncher(const Config& config, std::string self_host,
                                           Launcher& local) {
  return std::make_unique<HostLauncher>(config, std::move(self_host), local);
}

}  // namespace arbor
