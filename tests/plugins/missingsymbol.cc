// Fixture: a proper plugin whose handler calls a function that no library defines. It links only
// because it is built with ALLOW_UNDEFINED (no -z defs); loading it with RTLD_NOW must fail with
// a message naming the missing symbol, instead of crashing at the first call.
#include <memory>
#include <string>

#include "arbor/plugin.h"

extern "C" int arbor_test_symbol_that_does_not_exist(int);

namespace {

class MissingSymbol final : public arbor::Plugin {
 public:
  arbor::Result<std::string> Handle(const arbor::Call&) override {
    return std::to_string(arbor_test_symbol_that_does_not_exist(1));
  }
};

constexpr arbor::VerbSpec kVerbs[] = {
    {.name = "missing",
     .min_args = 0,
     .max_args = 0,
     .usage = "",
     .help = "calls a symbol that does not exist",
     .blocking = false},
};

arbor::Result<std::unique_ptr<arbor::Plugin>> Create(const arbor::PluginContext&) {
  return std::unique_ptr<arbor::Plugin>(new MissingSymbol());
}

const arbor::PluginDescriptor& Describe() {
  static const arbor::PluginDescriptor descriptor{.api_version = arbor::kPluginApiVersion,
                                                  .name = "missingsymbol",
                                                  .verbs = kVerbs,
                                                  .create = &Create};
  return descriptor;
}

}  // namespace

ARBOR_PLUGIN(Describe)
