// Fixture: a plugin that breaks the "handlers never throw" rule. `boom` throws
// std::runtime_error("kaboom"); `calm` answers "fine". The runtime must turn the exception into a
// kInternal error naming the plugin and keep serving, which `calm` afterwards proves.
#include <memory>
#include <stdexcept>
#include <string>

#include "arbor/plugin.h"

namespace {

class Thrower final : public arbor::Plugin {
 public:
  arbor::Result<std::string> Handle(const arbor::Call& call) override {
    if (call.verb == "boom") throw std::runtime_error("kaboom");
    return std::string("fine");
  }
};

constexpr arbor::VerbSpec kVerbs[] = {
    {.name = "boom",
     .min_args = 0,
     .max_args = 0,
     .usage = "",
     .help = "throws std::runtime_error(\"kaboom\") from the handler",
     .blocking = false},
    {.name = "calm",
     .min_args = 0,
     .max_args = 0,
     .usage = "",
     .help = "answers \"fine\"",
     .blocking = false},
};

arbor::Result<std::unique_ptr<arbor::Plugin>> Create(const arbor::PluginContext&) {
  return std::unique_ptr<arbor::Plugin>(new Thrower());
}

const arbor::PluginDescriptor& Describe() {
  static const arbor::PluginDescriptor descriptor{.api_version = arbor::kPluginApiVersion,
                                                  .name = "thrower",
                                                  .verbs = kVerbs,
                                                  .create = &Create};
  return descriptor;
}

}  // namespace

ARBOR_PLUGIN(Describe)
