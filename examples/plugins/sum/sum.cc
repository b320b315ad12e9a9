// sum <id> <n> <k1> ... <kn>: the sum of n 64-bit integers, computed on node <id>.
#include <charconv>
#include <string>

#include "arbor/plugin.h"

namespace {

bool ParseInt(const std::string& text, long long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

class Sum final : public arbor::Plugin {
 public:
  arbor::Result<std::string> Handle(const arbor::Call& call) override {
    long long n = 0, total = 0, k = 0;
    if (!ParseInt(call.args[0], n) || n < 0) return arbor::InvalidArgument("n must be a count");
    if (n != static_cast<long long>(call.args.size()) - 1)
      return arbor::InvalidArgument("expected " + call.args[0] + " numbers after n, got " +
                                    std::to_string(call.args.size() - 1));
    for (const std::string& arg : call.args.subspan(1)) {
      if (!ParseInt(arg, k)) return arbor::InvalidArgument("not a 64-bit integer: " + arg);
      if (__builtin_add_overflow(total, k, &total)) return arbor::InvalidArgument("sum overflows");
    }
    return std::to_string(total);
  }
};

constexpr arbor::VerbSpec kVerbs[] = {{.name = "sum", .min_args = 1, .max_args = 64,
                                       .usage = "<n> <k1> ... <kn>",
                                       .help = "the sum of n 64-bit integers",
                                       .blocking = false}};

}  // namespace

ARBOR_DEFINE_PLUGIN("sum", Sum, kVerbs);
