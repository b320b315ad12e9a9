// Fixture: a slow verb next to a fast one, for "a slow handler does not block forwarding".
//   sleep <ms>   blocks for <ms> milliseconds (a blocking verb: runs on a worker thread),
//                then answers "slept"
//   spin         answers "spun" at once (non-blocking)
#include <chrono>
#include <charconv>
#include <memory>
#include <string>
#include <thread>

#include "arbor/plugin.h"

namespace {

class Slow final : public arbor::Plugin {
 public:
  arbor::Result<std::string> Handle(const arbor::Call& call) override {
    if (call.verb == "spin") return std::string("spun");
    const std::string& text = call.args[0];
    long long ms = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc() || end != text.data() + text.size() || ms < 0 || ms > 600000) {
      return arbor::InvalidArgument("invalid duration '" + text +
                                    "': milliseconds from 0 to 600000");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return std::string("slept");
  }
};

constexpr arbor::VerbSpec kVerbs[] = {
    {.name = "sleep",
     .min_args = 1,
     .max_args = 1,
     .usage = "<ms>",
     .help = "sleep <ms> milliseconds, then answer \"slept\"",
     .blocking = true},
    {.name = "spin",
     .min_args = 0,
     .max_args = 0,
     .usage = "",
     .help = "answer \"spun\" at once",
     .blocking = false},
};

arbor::Result<std::unique_ptr<arbor::Plugin>> Create(const arbor::PluginContext&) {
  return std::unique_ptr<arbor::Plugin>(new Slow());
}

const arbor::PluginDescriptor& Describe() {
  static const arbor::PluginDescriptor descriptor{
      .api_version = arbor::kPluginApiVersion, .name = "slow", .verbs = kVerbs, .create = &Create};
  return descriptor;
}

}  // namespace

ARBOR_PLUGIN(Describe)
