// Command: one line of the controller's command language, parsed.
//
//   create <id> [parent]     remove <id>     ping <id> [-c N [-i ms]]     pingall
//   tree [--dot]     info <id> [--limits]
//   help [verb]     exit | quit     <verb> <id> [args...]   (any verb a loaded plugin serves)
//
// Parsing checks syntax and, for plugin verbs, arity; it knows nothing about the tree.
// Thread-safety: pure functions over plain values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arbor/message.h"
#include "arbor/plugin_loader.h"
#include "arbor/result.h"

namespace arbor::controller {

enum class CommandKind { kCreate, kRemove, kPing, kPingAll, kTree, kInfo, kVerb, kHelp, kExit };

struct Command {
  CommandKind kind = CommandKind::kHelp;
  NodeId id = 0;                  // the node the command is about (not for pingall/help/exit)
  std::string verb;               // kVerb: the plugin verb; kHelp: the command asked about
  std::vector<std::string> args;  // kVerb: the arguments after the id; kInfo: {"limits"}
  std::string text;               // the line as typed, trimmed
  int count = 0;        // kPing: the probes of a series (-c N); 0 for the single SPEC ping
  int interval_ms = 0;  // kPing with a count: between probe starts (-i), ping_series.h's bounds
  bool dot = false;     // kTree: Graphviz instead of text (--dot)
};

// The plugin verbs the controller knows, by name.
using VerbCatalog = std::map<std::string, VerbInfo, std::less<>>;

// nullopt for a blank line or a '#' comment; an InvalidArgument status for a bad line.
std::optional<Result<Command>> ParseCommand(std::string_view line, const VerbCatalog& verbs);

// The line as typed, without the surrounding blanks: what Command::text holds.
std::string CommandText(std::string_view line);

// The node a command is about: create, remove, ping, info and plugin verbs name one.
std::optional<NodeId> NodeOf(const Command& command);

// The lines `help` prints.
std::vector<std::string> HelpText(const VerbCatalog& verbs);

// The builtin command names; a plugin verb with one of these names is shadowed.
bool IsBuiltin(std::string_view word);

}  // namespace arbor::controller
