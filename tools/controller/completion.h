// Completion and hints for a partly typed command line: what the REPL offers on TAB, and the
// dim rest of the synopsis it shows after the cursor, as redis-cli does.
// Thread-safety: pure functions over plain values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "command.h"

namespace arbor::controller {

// The words that can stand where the cursor is; `before_cursor` is the line up to the cursor,
// and its last word (empty after a space) is the prefix every candidate starts with. The first
// word completes to a command; an argument completes to a node id (from `ids`) or a command
// name where the command's synopsis says one goes (KindOfSlot). Sorted as given: commands by
// name, ids ascending.
std::vector<std::string> Completions(std::string_view before_cursor, const VerbCatalog& verbs,
                                     const std::vector<NodeId>& ids);

// The rest of the command's synopsis after the words `line` holds: "exec 10 " gives
// "<name> [value]", and "exec 10" gives " <name> [value]" (the space is still to be typed).
// Empty when the first word is no command, or when every argument is there.
std::string Hint(std::string_view line, const VerbCatalog& verbs);

}  // namespace arbor::controller
