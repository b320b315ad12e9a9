// PluginLoader: opens a plugin library safely and hands out its verbs and instances.
//
// Loading checks, in this order, before any plugin code runs: the file exists and is a shared
// library; it exports an arbor entry point; the entry point's API version is ours. Then it is
// loaded with RTLD_NOW, so an unresolved symbol is a load error naming the symbol, not a crash
// at the first call. Every failure is a Status whose message names the file.
//
// A LoadedPlugin keeps its library mapped; instances made by Create() keep it mapped too, so a
// plugin object can never outlive its code. Thread-safety: a LoadedPlugin is immutable after
// loading; Create() may be called from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "arbor/config.h"
#include "arbor/plugin.h"
#include "arbor/result.h"

namespace boost::dll {
class shared_library;
}

namespace arbor {

// A verb as the runtime and the controller see it: VerbSpec copied out of the library, plus
// the plugin that serves it.
struct VerbInfo {
  std::string name;
  int min_args = 0;
  int max_args = 0;
  std::string usage;
  std::string help;
  bool blocking = false;
  std::string plugin;
};

class LoadedPlugin {
 public:
  const std::string& name() const { return name_; }
  const std::string& path() const { return path_; }
  const std::vector<VerbInfo>& verbs() const { return verbs_; }

  // Makes one instance. The instance holds a reference to the library.
  Result<std::shared_ptr<Plugin>> Create(const PluginContext& context) const;

 private:
  friend Result<LoadedPlugin> LoadPlugin(const std::string& path);
  std::shared_ptr<boost::dll::shared_library> library_;
  const PluginDescriptor* descriptor_ = nullptr;
  std::string name_;
  std::string path_;
  std::vector<VerbInfo> verbs_;
};

Result<LoadedPlugin> LoadPlugin(const std::string& path);

// The plugins a config names for one node, located and loaded. A plugin that fails is left out
// and its error recorded (naming the plugin); the rest load. Verb names must be unique across
// the set. The controller and arbor-node refuse to start when `errors` is not empty: a
// deployment that names a plugin which cannot be loaded is an error at start.
struct PluginSet {
  std::vector<LoadedPlugin> plugins;
  std::vector<Status> errors;
};
PluginSet LoadPluginSet(const Config& config, const std::vector<PluginSpec>& specs);

}  // namespace arbor
