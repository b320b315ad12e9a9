// The ping plugin: `ping <id>` answers from the node itself, so an answer proves the node and
// the whole path to it are alive. A node without this plugin cannot be pinged, and the
// controller says so instead of calling it unreachable.
#include "arbor/plugin.h"

namespace {

class Ping final : public arbor::Plugin {
 public:
  static arbor::Result<std::unique_ptr<arbor::Plugin>> Create(const arbor::PluginContext& context) {
    if (!context.options.empty()) return arbor::InvalidArgument("the ping plugin takes no options");
    return std::unique_ptr<arbor::Plugin>(new Ping());
  }
  arbor::Result<std::string> Handle(const arbor::Call&) override { return std::string(); }
};

constexpr arbor::VerbSpec kVerbs[] = {
    {.name = "ping",
     .min_args = 0,
     .max_args = 0,
     .usage = "",
     .help = "1 if the node answers, 0 if it exists but cannot be reached",
     .blocking = false},
};

}  // namespace

ARBOR_DEFINE_PLUGIN("ping", Ping, kVerbs);
