#define BOOST_DLL_USE_STD_FS 1
#include "arbor/plugin_loader.h"

#include <filesystem>
#include <regex>
#include <set>

#include <boost/dll.hpp>
#include <fmt/format.h>

namespace arbor {
namespace {

const std::string kEntryPrefix = "arbor_plugin_v";
const std::string kEntryName = kEntryPrefix + std::to_string(kPluginApiVersion);

// Reads the exported aliases without loading the library, so a plugin built against another
// API version never gets to run a static constructor in this process.
Status CheckEntryPoint(const std::string& path) {
  std::vector<std::string> aliases;
  try {
    boost::dll::library_info info(path);
    aliases = info.symbols("boostdll");
  } catch (const std::exception& e) {
    return InvalidArgument(fmt::format("{}: not a loadable shared library ({})", path, e.what()));
  }
  for (const std::string& a : aliases) {
    if (a == kEntryName) return Status::Ok();
  }
  for (const std::string& a : aliases) {
    if (a.rfind(kEntryPrefix, 0) == 0) {
      return FailedPrecondition(fmt::format(
          "{}: plugin API version mismatch: the plugin was built for v{}, this runtime speaks v{}; "
          "rebuild the plugin against this arbor",
          path, a.substr(kEntryPrefix.size()), kPluginApiVersion));
    }
  }
  return InvalidArgument(fmt::format(
      "{}: no arbor entry point ({}); is it an arbor plugin built with ARBOR_PLUGIN(...)?", path,
      kEntryName));
}

Status CheckVerbs(const std::string& path, const PluginDescriptor& d) {
  static const std::regex kVerbName("[a-z][a-z0-9_]*");
  if (d.api_version != kPluginApiVersion) {
    return FailedPrecondition(fmt::format("{}: descriptor says API v{}, entry point says v{}", path,
                                          d.api_version, kPluginApiVersion));
  }
  if (d.name == nullptr || d.create == nullptr) {
    return InvalidArgument(fmt::format("{}: descriptor has no name or no create function", path));
  }
  std::set<std::string> seen;
  for (const VerbSpec& v : d.verbs) {
    if (v.name != nullptr && !seen.insert(v.name).second) {
      return InvalidArgument(fmt::format("{}: verb '{}' is declared twice", path, v.name));
    }
    if (v.name == nullptr || !std::regex_match(v.name, kVerbName)) {
      return InvalidArgument(fmt::format("{}: bad verb name '{}'", path, v.name ? v.name : ""));
    }
    if (v.min_args < 0 || v.max_args < v.min_args || v.max_args > int(kMaxArgsPerOp)) {
      return InvalidArgument(fmt::format("{}: verb '{}' has a bad arity", path, v.name));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<LoadedPlugin> LoadPlugin(const std::string& path) {
  if (!std::filesystem::exists(path)) return NotFound(fmt::format("{}: no such file", path));
  if (Status s = CheckEntryPoint(path); !s.ok()) return s;
  LoadedPlugin p;
  try {
    p.library_ = std::make_shared<boost::dll::shared_library>(
        path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    p.descriptor_ = &p.library_->get_alias<PluginEntryPoint>(kEntryName)();
  } catch (const std::exception& e) {
    return FailedPrecondition(fmt::format(
        "{}: cannot load: {} (hint: a missing symbol means the plugin needs a library it was not "
        "linked against; build plugins with -Wl,-z,defs)",
        path, e.what()));
  }
  if (Status s = CheckVerbs(path, *p.descriptor_); !s.ok()) return s;
  p.name_ = p.descriptor_->name;
  p.path_ = path;
  for (const VerbSpec& v : p.descriptor_->verbs) {
    p.verbs_.push_back({v.name, v.min_args, v.max_args, v.usage ? v.usage : "",
                        v.help ? v.help : "", v.blocking, p.name_});
  }
  return p;
}

Result<std::shared_ptr<Plugin>> LoadedPlugin::Create(const PluginContext& context) const {
  Result<std::unique_ptr<Plugin>> made = Internal("no result");
  try {
    made = descriptor_->create(context);
  } catch (const std::exception& e) {
    return Internal(fmt::format("plugin '{}' ({}): init threw: {}", name_, path_, e.what()));
  } catch (...) {
    return Internal(fmt::format("plugin '{}' ({}): init threw", name_, path_));
  }
  if (!made.ok()) {
    return Status(made.status().code(), fmt::format("plugin '{}' ({}): init failed: {}", name_,
                                                    path_, made.status().message()));
  }
  if (!*made) return Internal(fmt::format("plugin '{}' ({}): init returned null", name_, path_));
  // The deleter holds the library, so the code of ~Plugin stays mapped until it has run.
  auto library = library_;
  return std::shared_ptr<Plugin>(made->release(), [library](Plugin* p) { delete p; });
}

PluginSet LoadPluginSet(const Config& config, const std::vector<PluginSpec>& specs) {
  PluginSet set;
  std::set<std::string> verbs;
  for (const PluginSpec& spec : specs) {
    Result<std::string> path = LocatePlugin(config, spec);
    if (!path.ok()) {
      set.errors.push_back(path.status());
      continue;
    }
    Result<LoadedPlugin> p = LoadPlugin(*path);
    if (!p.ok()) {
      set.errors.push_back(Status(p.status().code(), fmt::format("plugin '{}': {}", spec.name,
                                                                 p.status().message())));
      continue;
    }
    std::string clash;
    for (const VerbInfo& v : p->verbs()) {
      if (verbs.count(v.name)) clash = v.name;
    }
    if (!clash.empty()) {
      set.errors.push_back(InvalidArgument(fmt::format(
          "{}: verb '{}' is already served by another plugin; plugin '{}' not loaded", *path,
          clash, p->name())));
      continue;
    }
    for (const VerbInfo& v : p->verbs()) verbs.insert(v.name);
    set.plugins.push_back(std::move(p).value());
  }
  return set;
}

}  // namespace arbor
