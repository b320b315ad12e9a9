// HostLauncher: picks the launcher for the host a node is placed on, and names the host in
// every error, so that `create` says which machine failed and why.
#include <fmt/format.h>

#include "arbor/launcher.h"
#include "launchers.h"

namespace arbor {
namespace {

class HostLauncher final : public Launcher {
 public:
  HostLauncher(const Config& config, std::string self_host, Launcher& local,
               std::unique_ptr<Launcher> ssh)
      : config_(config),
        self_host_(std::move(self_host)),
        local_(local),
        ssh_(std::move(ssh)),
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
    if (h.launch == HostSpec::Launch::kExternal) return *external_;
    bool controller = self_host_.empty();
    if (h.launch == HostSpec::Launch::kSsh) return controller && ssh_ ? *ssh_ : refuse_;
    const HostSpec* self = config_.Host(self_host_);
    if (controller || (self && self->launch == HostSpec::Launch::kLocal)) return local_;
    return refuse_;
  }

  // Only the controller starts nodes on ssh hosts (ControllerStarts()), and nodes on the
  // controller's machine are started there: a node elsewhere has no way to do either.
  struct Refuse final : Launcher {
    Result<LaunchedNode> Launch(const NodeLaunch& l) override {
      return FailedPrecondition(fmt::format(
          "node {} can only be started by the controller (its host is the controller's "
          "machine or an ssh host)", l.id));
    }
  } refuse_;

  const Config& config_;
  const std::string self_host_;
  Launcher& local_;
  std::unique_ptr<Launcher> ssh_;
  std::unique_ptr<Launcher> external_;
};

}  // namespace

bool ControllerStarts(const Config& c, const std::string& parent_host,
                      const std::string& child_host) {
  const HostSpec* child = c.Host(child_host);
  const HostSpec* parent = c.Host(parent_host);
  if (child == nullptr || child->launch == HostSpec::Launch::kExternal) return false;
  if (child->launch == HostSpec::Launch::kSsh) return true;
  return parent == nullptr || parent->launch != HostSpec::Launch::kLocal;
}

std::unique_ptr<Launcher> MakeHostLauncher(const Config& config, std::string self_host,
                                           Launcher& local, std::unique_ptr<Launcher> ssh) {
  return std::make_unique<HostLauncher>(config, std::move(self_host), local, std::move(ssh));
}

}  // namespace arbor
