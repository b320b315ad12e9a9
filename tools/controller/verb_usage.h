// VerbUsage: what one command takes and does, for `help <verb>`, completion and hints.
//
// Built-in commands are described by the lines `help` prints (HelpText), plugin verbs by their
// plugin's descriptor, so `help <verb>`, the REPL's hints and the list never disagree.
// Thread-safety: pure functions over plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"

namespace arbor::controller {

struct VerbUsage {
  std::string synopsis;  // "exec <id> <name> [value]": the verb, then one word per argument
  std::string help;      // what it does, one line
  std::string plugin;    // the plugin that serves it; empty for a built-in command
};

// nullopt when `verb` is neither a built-in command nor a verb of a loaded plugin.
std::optional<VerbUsage> FindUsage(std::string_view verb, const VerbCatalog& verbs);

// What an argument slot of a synopsis holds, so the REPL knows what to complete there.
enum class SlotKind { kNodeId, kVerb, kOther };
SlotKind KindOfSlot(std::string_view synopsis_word);

// Every command name: the built-ins and the plugin verbs, sorted, each once.
std::vector<std::string> AllVerbs(const VerbCatalog& verbs);

// The lines `help <verb>` prints, in the layout of redis-cli's `help <command>`:
//   "  exec <id> <name> [value]", "  summary: ...", "  plugin: dictionary".
// Precondition: FindUsage(verb, verbs) has a value (ParseCommand checks it).
std::vector<std::string> VerbHelp(std::string_view verb, const VerbCatalog& verbs);

}  // namespace arbor::controller
