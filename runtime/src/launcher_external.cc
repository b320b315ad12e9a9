// The external launcher: the node is already running under a supervisor (systemd, Kubernetes)
// and waits at its address. "Launching" it is dialling it and attaching it to its parent,
// after checking that it is the node asked for and runs the deployment its parent runs.
#include <fmt/format.h>

#include "arbor/config_handoff.h"
#include "arbor/control.h"
#include "launchers.h"

namespace arbor {
namespace {

class ExternalLauncher final : public Launcher {
 public:
  ExternalLauncher(const Config& config, LinkOptions link)
      : config_(config), link_(std::move(link)), digest_(ConfigDigest(config)) {}

  Result<LaunchedNode> Launch(const NodeLaunch& l) override {
    std::string url = config_.EndpointFor(l.session, l.id, l.host);
    Result<std::unique_ptr<NodeLink>> link = NodeLink::Dial(url, link_, l.start_timeout);
    if (!link.ok()) {
      return Unavailable(fmt::format("node {} is not waiting at {} ({}): is its service "
                                     "running?", l.id, url, link.status().message()));
    }
    Request q;
    q.target = l.id;
    q.budget_ms = static_cast<std::uint32_t>(l.start_timeout.count());
    q.ops.push_back({std::string(kAttachVerb),
                     {Encode(AttachArgs{digest_, l.parent_id.value_or(0), l.parent_host})}});
    Result<Reply> r = (*link)->Call(q, DeadlineIn(l.start_timeout));
    (*link)->Close();
    if (!r.ok()) return r.status();
    if (!r->route.ok()) return r->route;
    if (!r->results.at(0).status.ok()) return r->results[0].status;
    Result<Identity> who = DecodeIdentity(r->results[0].text);
    if (!who.ok()) return who.status();
    return LaunchedNode{static_cast<pid_t>(who->pid), -1, url};
  }

 private:
  const Config& config_;
  const LinkOptions link_;
  const std::string digest_;
};

}  // namespace

std::unique_ptr<Launcher> MakeExternalLauncher(const Config& config, LinkOptions link) {
  return std::make_unique<ExternalLauncher>(config, std::move(link));
}

}  // namespace arbor
