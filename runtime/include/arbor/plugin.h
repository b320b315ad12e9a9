// The plugin API: how a shared library adds verbs to an arbor node.
//
// A plugin is a shared library that exports exactly one versioned entry point, a function that
// returns a PluginDescriptor. Export it with ARBOR_PLUGIN(fn). The entry point's name carries
// the API version ("arbor_plugin_v1"), so the runtime refuses a plugin built for another version
// by reading the library's symbol table, before any plugin code runs.
//
// The descriptor is pure data plus one factory: the plugin's name, the verbs it serves (with
// arity and a one-line help, which the controller shows in `help`), and `create`, which the node
// calls once to make the Plugin instance. There are no static registries and no static
// constructors with side effects.
//
// Errors are values: Handle() returns Result<std::string>. The text of an OK result is what the
// controller prints after "Ok:<id>: " (an empty text prints just "Ok:<id>"). An error Status is
// printed as "Error:<id>: <message>". A handler should not throw; if it does, the runtime turns
// the exception into a kInternal error reply and the node keeps serving.
//
// Thread-safety: Handle() may be called concurrently from several threads, including nng's I/O
// threads when the verb is not marked blocking. Guard shared state yourself.
// Lifetime: the runtime keeps the library loaded for as long as any Plugin it made is alive.
//
// These headers (plugin.h, result.h, status.h, node_id.h) are the whole plugin API: header-only,
// installed by `cmake --install`, and used through find_package(arbor) and arbor_add_plugin().
// See docs/writing-a-plugin.md, examples/plugins/sum/ (the smallest plugin) and
// plugins/dictionary/dictionary.cc (the tutorial).
#pragma once

#include <concepts>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include <boost/dll/alias.hpp>

#include "arbor/node_id.h"
#include "arbor/result.h"

namespace arbor {

inline constexpr std::uint32_t kPluginApiVersion = 1;

// One verb a plugin serves. Arity counts the arguments after the node id:
// "exec 10 MyVar 5" is verb "exec" with args {"MyVar", "5"}.
struct VerbSpec {
  const char* name;   // [a-z][a-z0-9_]*; must be unique across the plugins a node loads
  int min_args;
  int max_args;
  const char* usage;  // argument synopsis shown by help, e.g. "<name> [value]"
  const char* help;   // one line
  // false (the usual case): the handler is cheap and never blocks, so the runtime may run it
  // inline on an I/O thread. true: it may block (disk, long compute) and runs on a worker thread.
  bool blocking;
};

// What a plugin instance is told about the node that loads it.
struct PluginContext {
  NodeId node_id = 0;
  std::map<std::string, std::string> options;  // the plugin's `options:` map from the config
  std::string data_dir;  // a per-node directory for persistent state; empty when none configured
};

// One operation for the plugin to run.
struct Call {
  std::string_view verb;
  std::span<const std::string> args;  // arity already checked against the VerbSpec
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual Result<std::string> Handle(const Call& call) = 0;

  // Called once per request, after all of its operations ran and before its reply is sent,
  // when at least one of them was this plugin's. A plugin that buffers writes makes them
  // durable here: once per request, not once per operation (group commit). An error replaces
  // the OK results of this plugin's operations in that request. Default: nothing to do.
  virtual Status Sync() { return Status::Ok(); }

  // True when this instance's verbs may block even if their VerbSpec says otherwise, e.g. a
  // dictionary configured to fsync. Asked once, after create. Default: the VerbSpec decides.
  virtual bool Blocking() const { return false; }
};

struct PluginDescriptor {
  std::uint32_t api_version;  // kPluginApiVersion when it was built
  const char* name;
  std::span<const VerbSpec> verbs;
  Result<std::unique_ptr<Plugin>> (*create)(const PluginContext& context);
};

using PluginEntryPoint = const PluginDescriptor&();

}  // namespace arbor

// Exports `descriptor_function` (a `const arbor::PluginDescriptor& ()` function) as this
// library's versioned entry point. Use it exactly once per plugin, at namespace scope.
#define ARBOR_PLUGIN(descriptor_function)                                       \
  static_assert(::arbor::kPluginApiVersion == 1, "update the entry point name"); \
  BOOST_DLL_ALIAS(descriptor_function, arbor_plugin_v1)

namespace arbor::detail {

// The factory ARBOR_DEFINE_PLUGIN installs: `T::Create(context)` when T declares one (for a
// plugin whose options can be wrong, so it can refuse them as a Status), else a constructor
// taking the context, else the default constructor.
template <typename T>
Result<std::unique_ptr<Plugin>> MakePlugin(const PluginContext& context) {
  using Made = Result<std::unique_ptr<Plugin>>;
  if constexpr (requires { { T::Create(context) } -> std::convertible_to<Made>; }) {
    return T::Create(context);
  } else if constexpr (std::is_constructible_v<T, const PluginContext&>) {
    return std::unique_ptr<Plugin>(new T(context));
  } else {
    return std::unique_ptr<Plugin>(new T());
  }
}

}  // namespace arbor::detail

// The whole entry point of a plugin made of one Plugin class, in one line at namespace scope:
//
//   ARBOR_DEFINE_PLUGIN("sum", Sum, kVerbs);
//
// defines the descriptor (name, verbs, API version), the factory (see detail::MakePlugin) and
// the exported entry point. A plugin that needs more control writes the descriptor function
// itself and exports it with ARBOR_PLUGIN.
#define ARBOR_DEFINE_PLUGIN(plugin_name, PluginType, verb_specs)                                \
  static const ::arbor::PluginDescriptor& arbor_plugin_describe() {                              \
    static const ::arbor::PluginDescriptor descriptor{                                           \
        .api_version = ::arbor::kPluginApiVersion,                                               \
        .name = plugin_name,                                                                     \
        .verbs = verb_specs,                                                                     \
        .create = &::arbor::detail::MakePlugin<PluginType>};                                     \
    return descriptor;                                                                           \
  }                                                                                              \
  ARBOR_PLUGIN(arbor_plugin_describe)
