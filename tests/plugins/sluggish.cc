// Fixture: a plugin that breaks two rules arbor-plugin-check must catch.
//   lazy        not marked blocking, yet every 10th call sleeps 60 ms (it would stall a node's
//               I/O thread)
//   huge [n]    answers n bytes (default 70,000, more than an answer may be; at most 10^6)
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
    if (call.verb == "huge") {
      std::size_t n = 70000;
      if (!call.args.empty()) {
        const std::string& a = call.args[0];
        if (a.empty() || a.size() > 7 || a.find_first_not_of("0123456789") != std::string::npos ||
            std::stoul(a) > 1000000) {
          return arbor::InvalidArgument("huge takes a size of 0 to 1000000 bytes");
        }
        n = std::stoul(a);
      }
      return std::string(n, 'x');
    }
    // Status::ToString() and CodeName() are inline: a plugin that calls them links (with -z defs).
    return arbor::Status::Ok().ToString();
  }

 private:
  std::atomic<int> calls_{0};
};

constexpr arbor::VerbSpec kVerbs[] = {
    {.name = "lazy", .min_args = 0, .max_args = 0, .usage = "", .help = "every 10th call sleeps 60 ms inline",
     .blocking = false},
    {.name = "huge", .min_args = 0, .max_args = 1, .usage = "[n]", .help = "answers n bytes (70,000)",
     .blocking = false},
    {.name = "crash", .min_args = 1, .max_args = 1, .usage = "<x>", .help = "aborts on abc",
     .blocking = false},
    {.name = "fine", .min_args = 0, .max_args = 0, .usage = "", .help = "answers ok",
     .blocking = false},
};

}  // namespace

ARBOR_DEFINE_PLUGIN("sluggish", Sluggish, kVerbs);
