// The controller's two front ends over one Scheduler.
//
// RunBatch: stdin is not a terminal. Commands are read ahead and pipelined; result lines are
// printed strictly in input order, each flushed as soon as it and every line before it are
// known, so a program driving arbor through a pipe sees each answer without closing stdin.
// Nothing but result lines goes to stdout.
//
// RunRepl: stdin is a terminal. libedit line editing with a history file, TAB completion of
// commands and node ids, and the rest of a command's synopsis shown dim after the cursor. A
// command is handed to the Scheduler and the prompt comes back at once; results are printed
// above the prompt when they arrive, and the line being typed is drawn again intact, so a
// command to a hung node never stops the user from typing the next one. A result that arrives
// after later commands were typed is prefixed with its command, so it cannot be mistaken.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "command.h"
#include "scheduler.h"

namespace arbor::controller {

struct FrontendOptions {
  bool fail_exit = true;     // batch: exit status 1 when any command printed an error
  std::string history_file;  // repl: empty disables history
  bool json = false;         // one JSON object per command (json_line.h) instead of SPEC lines
  // repl: the ids of the nodes there are now, for TAB; called on the REPL's thread.
  std::function<std::vector<NodeId>()> node_ids;
};

int RunBatch(Scheduler& scheduler, const VerbCatalog& verbs, const FrontendOptions& options);
int RunRepl(Scheduler& scheduler, const VerbCatalog& verbs, const FrontendOptions& options);

}  // namespace arbor::controller
