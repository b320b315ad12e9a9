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
//     that touch the disk or compute for long as blocking=true, or, when only some
//     configurations block, say so per instance with Blocking().
//   - The data lives here, in the node process. The controller never sees it.
//
// Durability, an option (see journal.h for the files and the crash rules):
//
//   plugins:
//     load:
//       - name: dictionary
//         options: {durability: fsync, compact_every: 10000}
//   data_dir: /var/lib/arbor     # each node keeps its files in <data_dir>/node-<id>
//
//   durability: none    the default: memory only, a node that dies loses its data
//   durability: flush   every set is written to a journal before it is acknowledged:
//                       survives kill -9 of the node, not a crash of the machine
//   durability: fsync   and the journal is fdatasync'ed before the reply goes out: survives a
//                       crash of the machine too. One fdatasync per request, not per set
//   compact_every: N    after N journal records, write the whole map as a snapshot and empty
//                       the journal (default 10000), so that the journal stays short
//
// It shows the two optional Plugin hooks: Sync() (make a request's writes durable once, before
// its reply) and Blocking() (this instance touches the disk, so its verb must leave the I/O
// thread).
#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "arbor/plugin.h"
#include "journal.h"

namespace {

using dictionary::Durability;

// --- 1. The plugin class ----------------------------------------------------------------------

class Dictionary final : public arbor::Plugin {
 public:
  // In memory only (durability: none).
  Dictionary() = default;
  // Durable: every set goes through `journal`, which has already loaded `values` from disk.
  Dictionary(std::unique_ptr<dictionary::Journal> journal, dictionary::Map values)
      : journal_(std::move(journal)), values_(std::move(values)) {}

  arbor::Result<std::string> Handle(const arbor::Call& call) override {
    // A journal found corrupt at load answers every call with why (reads too: an empty
    // dictionary would answer "not found" for values that exist on disk).
    if (journal_ != nullptr) {
      if (arbor::Status s = journal_->Health(); !s.ok()) return s;
    }
    // The runtime has already checked the verb and its arity against the table below, so
    // call.args holds one or two strings here.
    const std::string& name = call.args[0];
    if (arbor::Status s = CheckName(name); !s.ok()) return s;
    if (call.args.size() == 1) return Get(name);
    arbor::Result<std::int64_t> value = ParseValue(call.args[1]);
    if (!value.ok()) return value.status();
    return Set(name, *value);
  }

  // The runtime calls this once per request, after all of its operations ran and before the
  // reply is sent. With durability fsync, this is where the request's sets reach the disk: one
  // fdatasync for all of them (group commit), and no reply before it.
  arbor::Status Sync() override {
    return journal_ != nullptr ? journal_->Sync() : arbor::Status::Ok();
  }

  // A durable dictionary writes files in Handle(): take it off the I/O thread.
  bool Blocking() const override { return journal_ != nullptr; }

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
    if (journal_ == nullptr) {
      std::unique_lock lock(mu_);
      values_[name] = value;
      return std::string();  // an empty answer prints as just "Ok:<id>"
    }
    // One durable set at a time, so that the journal's order is the order in which values_
    // changes: two sets of one name replay in the order they were applied. A mutex of its own,
    // not mu_, so that reads go on while a set writes its record or compacts.
    std::lock_guard writer(write_mu_);
    // The journal first: a set that did not reach it must not be seen, nor acknowledged.
    if (arbor::Status s = journal_->Append(name, value); !s.ok()) return s;
    {
      std::unique_lock lock(mu_);
      values_[name] = value;
    }
    // Now and then the journal is folded into a snapshot. Sets are held off by write_mu_, so
    // values_ is exactly what the files replay to.
    if (journal_->CompactionDue()) {
      std::shared_lock lock(mu_);
      journal_->Compact(values_);
    }
    return std::string();
  }

  std::unique_ptr<dictionary::Journal> journal_;  // null with durability none
  std::mutex write_mu_;                           // durable sets, one at a time
  std::shared_mutex mu_;                          // guards values_
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
     .blocking = false},  // a map lookup: safe on the I/O thread. Durable instances say
                          // otherwise through Dictionary::Blocking().
};

// --- 3. The factory ---------------------------------------------------------------------------
// Called once per node. Options from the YAML arrive in context.options as strings; reject what
// you do not understand, so that a typo in a deployment is an error and not a silent default.
// Anything slow at startup (here: loading the files) belongs here too: the node answers nothing
// before every plugin is created.

struct Options {
  Durability durability = Durability::kNone;
  std::uint64_t compact_every = 10000;
};

const char* Name(Durability d) {
  switch (d) {
    case Durability::kNone:
      return "none";
    case Durability::kFlush:
      return "flush";
    case Durability::kFsync:
      return "fsync";
  }
  return "?";
}

arbor::Result<Options> ParseOptions(const std::map<std::string, std::string>& options) {
  Options parsed;
  for (const auto& [key, value] : options) {
    if (key == "durability") {
      if (value == "none") {
        parsed.durability = Durability::kNone;
      } else if (value == "flush") {
        parsed.durability = Durability::kFlush;
      } else if (value == "fsync") {
        parsed.durability = Durability::kFsync;
      } else {
        return arbor::InvalidArgument("option 'durability' of the dictionary is none, flush or " +
                                      ("fsync, not '" + value + "'"));
      }
    } else if (key == "compact_every") {
      std::uint64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n == 0) {
        return arbor::InvalidArgument("option 'compact_every' of the dictionary is a positive " +
                                      ("integer, not '" + value + "'"));
      }
      parsed.compact_every = n;
    } else {
      return arbor::InvalidArgument("unknown option '" + key +
                                    "' (the dictionary takes durability and compact_every)");
    }
  }
  return parsed;
}

arbor::Result<std::unique_ptr<arbor::Plugin>> Create(const arbor::PluginContext& context) {
  arbor::Result<Options> options = ParseOptions(context.options);
  if (!options.ok()) return options.status();
  if (options->durability == Durability::kNone) {
    return std::unique_ptr<arbor::Plugin>(new Dictionary());
  }
  if (context.data_dir.empty()) {
    return arbor::InvalidArgument(std::string("durability '") + Name(options->durability) +
                                  "' needs a data_dir in the deployment config");
  }
  // Load what the node wrote before it last stopped. Corrupt files do not fail here: the
  // dictionary comes up and answers every call with what is wrong (see Handle).
  dictionary::Map values;
  auto journal = dictionary::Journal::Open(context.data_dir, options->durability,
                                           options->compact_every, &values);
  if (!journal.ok()) return journal.status();
  return std::unique_ptr<arbor::Plugin>(
      new Dictionary(std::move(journal).value(), std::move(values)));
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
