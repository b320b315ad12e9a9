// The dictionary plugin: a local integer dictionary on each node, served by the verb `exec`.
//
//   exec <id> <name> <value>   stores value under name   -> "Ok:<id>"
//   exec <id> <name>           reads it back             -> "Ok:<id>: <value>"
//                                                           "Ok:<id>: '<name>' not found"
//
// This file is also the tutorial for writing a plugin. Copy it, rename things, and you have a
// working plugin. A plugin needs exactly four things:
//
//   1. a class derived from arbor::Plugin that handles calls;
//   2. a table of the verbs it serves (name, arity, usage, one-line help, blocking or not);
//   3. a factory that makes an instance from a PluginContext (node id, options, data dir);
//   4. a descriptor function, exported with ARBOR_PLUGIN(...).
//
// Build it with add_arbor_plugin(<name> SOURCES <files>) in a CMakeLists.txt beside it, and list
// <name> under `plugins: load:` in a deployment YAML.
//
// The rules a plugin lives by:
//   - Errors are values: return a Status (InvalidArgument, NotFound...), never throw. The
//     controller prints an error as "Error:<id>: <message>", so write messages for a human.
//   - Handle() runs concurrently on several threads: guard shared state.
//   - A verb marked blocking=false runs on an I/O thread and must return quickly. Mark verbs
//     that touch the disk or compute for long as blocking=true.
//   - The data lives here, in the node process. The controller never sees it.
#include <charconv>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "arbor/plugin.h"

namespace {

// --- 1. The plugin class ----------------------------------------------------------------------

class Dictionary final : public arbor::Plugin {
 public:
  arbor::Result<std::string> Handle(const arbor::Call& call) override {
    // The runtime has already checked the verb and its arity against the table below, so
    // call.args holds one or two strings here.
    const std::string& name = call.args[0];
    if (arbor::Status s = CheckName(name); !s.ok()) return s;
    if (call.args.size() == 1) return Get(name);
    arbor::Result<std::int64_t> value = ParseValue(call.args[1]);
    if (!value.ok()) return value.status();
    return Set(name, *value);
  }

 private:
  static arbor::Status CheckName(const std::string& name) {
    if (name.empty()) return arbor::InvalidArgument("invalid name '': a name needs a character");
    for (char c : name) {
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alnum) {
        return arbor::InvalidArgument("invalid name '" + name +
                                      "': names are letters and digits only");
      }
    }
    return arbor::Status::Ok();
  }

  // Accepts an optional minus sign and decimal digits that fit in a signed 64-bit integer.
  static arbor::Result<std::int64_t> ParseValue(const std::string& text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::result_out_of_range) {
      return arbor::InvalidArgument("invalid value '" + text +
                                    "': out of range for a 64-bit signed integer");
    }
    if (ec != std::errc() || end != text.data() + text.size()) {
      return arbor::InvalidArgument("invalid value '" + text + "': not an integer");
    }
    return v;
  }

  arbor::Result<std::string> Get(const std::string& name) {
    std::shared_lock lock(mu_);  // readers share; writers below are exclusive
    auto it = values_.find(name);
    // "not found" is an answer, not an error: the SPEC prints it as "Ok:<id>: 'x' not found".
    if (it == values_.end()) return "'" + name + "' not found";
    return std::to_string(it->second);
  }

  arbor::Result<std::string> Set(const std::string& name, std::int64_t value) {
    std::unique_lock lock(mu_);
    values_[name] = value;
    return std::string();  // an empty answer prints as just "Ok:<id>"
  }

  std::shared_mutex mu_;
  std::unordered_map<std::string, std::int64_t> values_;
};

// --- 2. The verb table ------------------------------------------------------------------------
// Arity counts the arguments after the node id. The controller shows usage and help in `help`
// and rejects a wrong argument count before anything is sent.

constexpr arbor::VerbSpec kVerbs[] = {
    {.name = "exec",
     .min_args = 1,
     .max_args = 2,
     .usage = "<name> [value]",
     .help = "set name to a 64-bit integer on the node, or read it back",
     .blocking = false},  // a map lookup: safe to run on the I/O thread
};

// --- 3. The factory ---------------------------------------------------------------------------
// Called once per node. Options from the YAML arrive in context.options; reject what you do not
// understand, so that a typo in a deployment is an error and not a silent default.

arbor::Result<std::unique_ptr<arbor::Plugin>> Create(const arbor::PluginContext& context) {
  for (const auto& [key, value] : context.options) {
    return arbor::InvalidArgument("unknown option '" + key + "' (the dictionary takes none)");
  }
  return std::unique_ptr<arbor::Plugin>(new Dictionary());
}

// --- 4. The descriptor and its export ---------------------------------------------------------
// The entry point returns pure data. ARBOR_PLUGIN exports it under a versioned name, so the
// runtime can refuse a plugin built for another API version before running any of its code.

const arbor::PluginDescriptor& Describe() {
  static const arbor::PluginDescriptor descriptor{
      .api_version = arbor::kPluginApiVersion,
      .name = "dictionary",
      .verbs = kVerbs,
      .create = &Create,
  };
  return descriptor;
}

}  // namespace

ARBOR_PLUGIN(Describe)
