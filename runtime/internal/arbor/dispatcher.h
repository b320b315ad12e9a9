// Dispatcher: runs one operation against the verbs a node serves.
//
// It checks the verb exists and the arity matches its VerbSpec, then calls the plugin. An
// exception from a handler never escapes: it becomes a kInternal OpResult naming the plugin and
// the verb, and the node keeps serving. Thread-safety: Add() before serving; Run() concurrently.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "arbor/message.h"
#include "arbor/plugin.h"
#include "arbor/plugin_loader.h"

namespace arbor {

class Dispatcher {
 public:
  explicit Dispatcher(NodeId node_id) : node_id_(node_id) {}

  void Add(const VerbInfo& verb, std::shared_ptr<Plugin> plugin);
  // True when the verb may block and must not run on an I/O thread. Unknown verbs do not block.
  bool Blocking(const Op& op) const;
  OpResult Run(const Op& op) const;
  // The plugin serving `verb`, or null.
  Plugin* PluginFor(std::string_view verb) const;
  std::vector<VerbInfo> verbs() const;

 private:
  struct Entry {
    VerbInfo info;
    std::shared_ptr<Plugin> plugin;
  };
  NodeId node_id_;
  std::map<std::string, Entry, std::less<>> verbs_;
};

}  // namespace arbor
