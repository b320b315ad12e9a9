// Fixture: a plugin that breaks two rules arbor-plugin-check must catch.
//   lazy   not marked blocking, yet sleeps 60 ms per call (it would stall a node's I/O thread)
//   huge   answers 70,000 bytes, more than a reply can carry
//   fine   answers "ok" at once
#include <chrono>
#include <string>
#include <thread>

#include "arbor/plugin.h"

namespace {

class Sluggish final : public arbor::Plugin {
 public:
  arbor::Result<std::string> Handle(const arbor::Call& call) override {
    if (call.verb == "lazy") std::this_thread::sleep_for(std::chrono::milliseconds(60));
    if (call.verb == "huge") return std::string(70000, 'x');
    return std::string("ok");
  }
};

constexpr arbor::VerbSpec kVerbs[] = {
    {.name = "lazy", .min_args = 0, .max_args = 0, .usage = "", .help = "sleeps 60 ms inline",
     .blocking = false},
    {.name = "huge", .min_args = 0, .max_args = 0, .usage = "", .help = "answers 70,000 bytes",
     .blocking = false},
    {.name = "fine", .min_args = 0, .max_args = 0, .usage = "", .help = "answers ok",
     .blocking = false},
};

}  // namespace

ARBOR_DEFINE_PLUGIN("sluggish", Sluggish, kVerbs);
