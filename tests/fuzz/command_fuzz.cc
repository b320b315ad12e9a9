// The controller's command parser (tools/controller/command.h) on any line a user, a script or
// a pipe may feed it. Beyond "no crash": a bad line is an InvalidArgument, never an exception;
// blanks around a line change nothing but nothing; and a parsed command written back in its
// plainest form parses to the same command (the parser keeps everything the command means).
#include <cstdint>
#include <string>
#include <string_view>

#include "command.h"
#include "fuzz_check.h"

namespace {

using arbor::controller::Command;
using arbor::controller::CommandKind;

// Small and fixed, shaped like the real plugins' verbs: a ranged arity, a verb with no
// arguments, one with many, and one a builtin shadows.
const arbor::controller::VerbCatalog& Catalog() {
  static const arbor::controller::VerbCatalog catalog = [] {
    arbor::controller::VerbCatalog c;
    c["exec"] = arbor::VerbInfo{"exec", 1, 2, "<name> [value]", "set or get", false, "dictionary"};
    c["ping"] = arbor::VerbInfo{"ping", 0, 0, "", "ping the node", false, "ping"};
    c["touch"] = arbor::VerbInfo{"touch", 0, 0, "", "no arguments", false, "extras"};
    c["mset"] = arbor::VerbInfo{"mset", 2, 64, "<name> <value>...", "many", false, "extras"};
    return c;
  }();
  return catalog;
}

// The command as the plainest line that says it.
std::string Plain(const Command& c) {
  std::string id = std::to_string(c.id);
  switch (c.kind) {
    case CommandKind::kCreate: return "create " + id;
    case CommandKind::kRemove: return "remove " + id;
    case CommandKind::kInfo: return c.args.empty() ? "info " + id : "info " + id + " --limits";
    case CommandKind::kPingAll: return "pingall";
    case CommandKind::kHelp: return c.verb.empty() ? "help" : "help " + c.verb;
    case CommandKind::kExit: return "exit";
    case CommandKind::kTree: return c.dot ? "tree --dot" : "tree";
    case CommandKind::kPing:
      if (c.count == 0) return "ping " + id;
      return "ping " + id + " -c " + std::to_string(c.count) + " -i " +
             std::to_string(c.interval_ms);
    case CommandKind::kVerb: {
      std::string line = c.verb + " " + id;
      for (const std::string& a : c.args) line += " " + a;
      return line;
    }
  }
  return "";
}

bool SameMeaning(const Command& a, const Command& b) {
  return a.kind == b.kind && a.id == b.id && a.verb == b.verb && a.args == b.args &&
         a.count == b.count && a.interval_ms == b.interval_ms && a.dot == b.dot;
}

void CheckCommand(const Command& c, std::string_view line) {
  FUZZ_CHECK(c.text == arbor::controller::CommandText(line));
  FUZZ_CHECK(arbor::controller::NodeOf(c).has_value() ==
             (c.kind == CommandKind::kCreate || c.kind == CommandKind::kRemove ||
              c.kind == CommandKind::kPing || c.kind == CommandKind::kInfo ||
              c.kind == CommandKind::kVerb));
  if (c.kind == CommandKind::kVerb) {
    auto it = Catalog().find(c.verb);
    FUZZ_CHECK(it != Catalog().end() && !arbor::controller::IsBuiltin(c.verb));
    FUZZ_CHECK(c.args.size() >= std::size_t(it->second.min_args) &&
               c.args.size() <= std::size_t(it->second.max_args));
    for (const std::string& a : c.args) FUZZ_CHECK(!a.empty() && a.size() <= arbor::kMaxStringBytes);
  }
  if (c.kind == CommandKind::kPing && c.count > 0) FUZZ_CHECK(c.interval_ms > 0);
  std::string plain = Plain(c);
  auto again = arbor::controller::ParseCommand(plain, Catalog());
  FUZZ_CHECK(again.has_value() && again->ok());
  FUZZ_CHECK(SameMeaning(**again, c));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto c = arbor::controller::ParseCommand(line, Catalog());
  std::string padded = " \t" + std::string(line) + "\t ";
  auto p = arbor::controller::ParseCommand(padded, Catalog());
  FUZZ_CHECK(c.has_value() == p.has_value());
  if (!c) return 0;
  FUZZ_CHECK(c->ok() == p->ok());
  if (!c->ok()) {
    FUZZ_CHECK(c->status().code() == arbor::Code::kInvalidArgument);
    FUZZ_CHECK(c->status().message() == p->status().message());
    return 0;
  }
  FUZZ_CHECK(SameMeaning(**c, **p));
  CheckCommand(**c, line);
  return 0;
}
