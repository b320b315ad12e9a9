// The dictionary plugin: a local integer dictionary on each node, served by the verb `exec`.
//
//   exec <id> <name> <value>   stores value under name   -> "Ok:<id>"
//   exec <id> <name>           reads it back             -> "Ok:<id>: <value>"
//                                                           "Ok:<id>: '<name>' not found"
//
// This file is the tutorial for writing a plugin (docs/writing-a-plugin.md walks through it).
// A plugin is three things:
//
//   1. a class derived from arbor::Plugin whose Handle() answers calls;
//   2. a table of the verbs it serves (name, arity, usage, one-line help, blocking or not);
//   3. one line, ARBOR_DEFINE_PLUGIN, that exports it.
//
// The rules a plugin lives by:
//   - Errors are values: return a Status (InvalidArgument, NotFound...), never throw. The
//     controller prints an error as "Error:<id>: <message>", so write messages for a human.
//   - Handle() runs concurrently on several threads: guard shared state.
//   - A verb marked blocking=false runs on an I/O thread and must return quickly. Mark verbs
//     that touch the disk or compute for long as blocking=true, or, when only some
//     configurations block, say so per instance with Blocking().
//   - The data lives here, in the node process. The controller never sees it.
//
// Where the values live, in memory or durably on disk (the `durability` option), is the
// Store's business: store.h. Run arbor-plugin-check on the built library to check the rules.
#include <charconv>
#include <memory>
#include <optional>
#include <string>

#include "arbor/plugin.h"
#include "store.h"

namespace {

// --- 1. The plugin class ----------------------------------------------------------------------

class Dictionary final : public arbor::Plugin {
 public:
  // Called once per node, with the node's id, its data_dir and the plugin's `options:` from the
  // YAML. Anything slow at startup (here: loading the files) belongs here: the node answers
  // nothing before every plugin is created. An error stops the node from starting, with this
  // message.
  static arbor::Result<std::unique_ptr<arbor::Plugin>> Create(
      const arbor::PluginContext& context) {
    auto store = dictionary::Store::Open(context);
    if (!store.ok()) return store.status();
    return std::unique_ptr<arbor::Plugin>(new Dictionary(std::move(store).value()));
  }

  arbor::Result<std::string> Handle(const arbor::Call& call) override {
    if (arbor::Status s = store_->Health(); !s.ok()) return s;
    // The runtime has already checked the verb and its arity against the table below, so
    // call.args holds one or two strings here.
    const std::string& name = call.args[0];
    if (arbor::Status s = CheckName(name); !s.ok()) return s;
    if (call.args.size() == 1) {
      std::optional<std::int64_t> value = store_->Get(name);
      // "not found" is an answer, not an error: the SPEC prints it as "Ok:<id>: 'x' not found".
      if (!value) return "'" + name + "' not found";
      return std::to_string(*value);
    }
    arbor::Result<std::int64_t> value = ParseValue(call.args[1]);
    if (!value.ok()) return value.status();
    if (arbor::Status s = store_->Set(name, *value); !s.ok()) return s;
    return std::string();  // an empty answer prints as just "Ok:<id>"
  }

  // Two optional hooks. Sync() runs once per request, after all of its operations and before
  // the reply: with durability fsync, one fdatasync covers every set of the request (group
  // commit). Blocking(): a durable dictionary writes files in Handle(), so its verb must leave
  // the I/O thread even though the table below says it need not.
  arbor::Status Sync() override { return store_->Sync(); }
  bool Blocking() const override { return store_->Durable(); }

 private:
  explicit Dictionary(std::unique_ptr<dictionary::Store> store) : store_(std::move(store)) {}

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

  std::unique_ptr<dictionary::Store> store_;
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
     .blocking = false},  // a map lookup: safe on the I/O thread. Durable instances say
                          // otherwise through Dictionary::Blocking().
};

}  // namespace

// --- 3. The export ----------------------------------------------------------------------------
// The descriptor (name, verbs, API version, factory: Dictionary::Create) and the versioned entry
// point, so the runtime can refuse a plugin built for another API version before running any of
// its code.
ARBOR_DEFINE_PLUGIN("dictionary", Dictionary, kVerbs);
