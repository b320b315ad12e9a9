// Fixture: a plugin that breaks two rules arbor-plugin-check must catch.
//   lazy        not marked blocking, yet every 10th call sleeps 60 ms (it would stall a node's
//               I/O thread)
//   huge        answers 70,000 bytes, more than a reply can carry
//   crash <x>   aborts the process when x is "abc"
//   fine        answers "ok" at once
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "arbor/plugin.h"

namespace {

class Sluggish final : public arbor::Plugin {
 public:
  arbor::Result<std::string> Handle(const arbor::Call& call) override {
    if (call.verb == "lazy" && calls_++ % 10 == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
    }
    if (call.verb == "crash" && call.args[0] == "abc") std::abort();
    if (call.verb == "huge") return std::string(70000, 'x');
    // Status::ToString() and CodeName() are inline: a plugin that calls them links (with -z defs).
    return arbor::Status::Ok().ToString();
  }

 private:
  std::atomic<int> calls_{0};
};

constexpr arbor::VerbSpec kVerbs[] = {
    {.name = "lazy", .min_args = 0, .max_args = 0, .usage = "", .help = "every 10th call sleeps 60 ms inline",
     .blocking = false},
    {.name = "huge", .min_args = 0, .max_args = 0, .usage = "", .help = "answers 70,000 bytes",
     .blocking = false},
    {.name = "crash", .min_args = 1, .max_args = 1, .usage = "<x>", .help = "aborts on abc",
     .blocking = false},
    {.name = "fine", .min_args = 0, .max_args = 0, .usage = "", .help = "answers ok",
     .blocking = false},
};

}  // namespace

ARBOR_DEFINE_PLUGIN("sluggish", Sluggish, kVerbs);
