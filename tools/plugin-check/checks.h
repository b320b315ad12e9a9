// The conformance checks arbor-plugin-check runs. Each check loads its own instance of the
// plugin, as a node does, drives it, and returns the problems it found (empty: passed).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "arbor/result.h"

namespace arbor::plugin_check {

struct Target {
  std::string path;
  std::map<std::string, std::string> options;  // the plugin's options, as in a config
  std::string data_dir;                         // a fresh directory for the plugin's state
  std::chrono::milliseconds max_inline{20};     // longest call allowed for a non-blocking verb
};

// "plugin 'sum', API v1, verbs: sum", or why it cannot be loaded and created.
struct Summary {
  std::string text;
};
Result<Summary> Describe(const Target& target);

// Told the call a check is about to make, so that a crash can be pinned on it.
using Note = std::function<void(const std::string& call)>;

struct Check {
  const char* title;
  std::vector<std::string> (*run)(const Target& target, const Note& note);
};
const std::vector<Check>& AllChecks();

}  // namespace arbor::plugin_check
