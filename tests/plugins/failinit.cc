// Fixture: a plugin that loads fine but whose factory refuses to make an instance, with
// FailedPrecondition("refusing to start"). The node must report it and not serve its verb.
#include <memory>
#include <string>

#include "arbor/plugin.h"

namespace {

class Unreachable final : public arbor::Plugin {
 public:
  arbor::Result<std::string> Handle(const arbor::Call&) override { return std::string(); }
};

constexpr arbor::VerbSpec kVerbs[] = {
    {.name = "failinit_noop",
     .min_args = 0,
     .max_args = 0,
     .usage = "",
     .help = "never served: the plugin refuses to start",
     .blocking = false},
};

arbor::Result<std::unique_ptr<arbor::Plugin>> Create(const arbor::PluginContext&) {
  return arbor::FailedPrecondition("refusing to start");
}

const arbor::PluginDescriptor& Describe() {
  static const arbor::PluginDescriptor descriptor{.api_version = arbor::kPluginApiVersion,
                                                  .name = "failinit",
                                                  .verbs = kVerbs,
                                                  .create = &Create};
  return descriptor;
}

}  // namespace

ARBOR_PLUGIN(Describe)
