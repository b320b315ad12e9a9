// The controller's two front ends over one Scheduler.
//
// RunBatch: stdin is not a terminal. Commands are read ahead and pipelined; result lines are
// printed strictly in input order, each flushed as soon as it and every line before it are
// known, so a program driving arbor through a pipe sees each answer without closing stdin.
// Nothing but result lines goes to stdout.
//
// RunRepl: stdin is a terminal. libedit line editing with a history file. A command is handed
// to the Scheduler and the prompt comes back at once; results are printed when they arrive, so
// a command to a hung node never stops the user from typing the next one. A result that arrives
// after later commands were typed is prefixed with its command, so it cannot be mistaken.
#pragma once

#include <string>

#include "command.h"
#include "scheduler.h"

namespace arbor::controller {

struct FrontendOptions {
  bool fail_exit = true;     // batch: exit status 1 when any command printed an error
  std::string history_file;  // repl: empty disables history
  bool json = false;         // one JSON object per command (json_line.h) instead of SPEC lines
};

int RunBatch(Scheduler& scheduler, const VerbCatalog& verbs, const FrontendOptions& options);
int RunRepl(Scheduler& scheduler, const VerbCatalog& verbs, const FrontendOptions& options);

}  // namespace arbor::controller
