// Fixture: a plugin built for a future API version. It exports its descriptor as
// arbor_plugin_v999 and says api_version 999.
//
// Its static constructor records that it ran (in the file named by $ARBOR_TEST_MARKER_FILE, when
// set) and then aborts the process. The loader must refuse this library from its symbol table
// alone, before the dynamic linker maps it, so a test that loads it and is still alive afterwards
// (and finds no marker file) proves that no code of the plugin ran.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <boost/dll/alias.hpp>

#include "arbor/plugin.h"

namespace {

struct Tripwire {
  Tripwire() {
    if (const char* marker = std::getenv("ARBOR_TEST_MARKER_FILE")) {
      if (std::FILE* f = std::fopen(marker, "w")) {
        std::fputs("wrongversion static constructor ran\n", f);
        std::fclose(f);
      }
    }
    std::abort();
  }
};
const Tripwire tripwire;

class Never final : public arbor::Plugin {
 public:
  arbor::Result<std::string> Handle(const arbor::Call&) override { return std::string("v999"); }
};

constexpr arbor::VerbSpec kVerbs[] = {
    {.name = "future",
     .min_args = 0,
     .max_args = 0,
     .usage = "",
     .help = "a verb from API v999",
     .blocking = false},
};

arbor::Result<std::unique_ptr<arbor::Plugin>> Create(const arbor::PluginContext&) {
  return std::unique_ptr<arbor::Plugin>(new Never());
}

const arbor::PluginDescriptor& Describe() {
  static const arbor::PluginDescriptor descriptor{
      .api_version = 999, .name = "wrongversion", .verbs = kVerbs, .create = &Create};
  return descriptor;
}

}  // namespace

BOOST_DLL_ALIAS(Describe, arbor_plugin_v999)
