// Where the REPL keeps its history: $XDG_STATE_HOME/arbor/history, or
// ~/.local/state/arbor/history when XDG_STATE_HOME is unset or not absolute (the XDG base
// directory rules). `--history FILE` overrides it; an empty name turns history off.
// Thread-safety: reads the environment; call before other threads change it.
#pragma once

#include <string>

#include "arbor/status.h"

namespace arbor::controller {

// The default history file, or "" when neither XDG_STATE_HOME nor HOME is usable.
std::string DefaultHistoryFile();

// Creates the missing directories above `file`, each with mode 0700 (a history holds what the
// user typed). Directories that exist already are left as they are.
Status MakeHistoryDirectories(const std::string& file);

// How many commands the history keeps, in memory and in the file.
constexpr int kHistoryEntries = 1000;

}  // namespace arbor::controller
