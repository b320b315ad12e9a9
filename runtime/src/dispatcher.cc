#include "arbor/dispatcher.h"

#include <fmt/format.h>

namespace arbor {

void Dispatcher::Add(const VerbInfo& verb, std::shared_ptr<Plugin> plugin) {
  VerbInfo info = verb;
  info.blocking = info.blocking || plugin->Blocking();
  verbs_[verb.name] = Entry{info, std::move(plugin)};
}

Plugin* Dispatcher::PluginFor(std::string_view verb) const {
  auto it = verbs_.find(verb);
  return it == verbs_.end() ? nullptr : it->second.plugin.get();
}

bool Dispatcher::Blocking(const Op& op) const {
  auto it = verbs_.find(op.verb);
  return it != verbs_.end() && it->second.info.blocking;
}

std::vector<VerbInfo> Dispatcher::verbs() const {
  std::vector<VerbInfo> out;
  for (const auto& [name, e] : verbs_) out.push_back(e.info);
  return out;
}

OpResult Dispatcher::Run(const Op& op) const {
  auto it = verbs_.find(op.verb);
  if (it == verbs_.end()) {
    return {UnknownVerb(fmt::format("node {} serves no verb '{}'", node_id_, op.verb)), {}};
  }
  const VerbInfo& v = it->second.info;
  int argc = static_cast<int>(op.args.size());
  if (argc < v.min_args || argc > v.max_args) {
    std::string sep = v.usage.empty() ? "" : " ";
    return {InvalidArgument(fmt::format("usage: {} <id>{}{}", v.name, sep, v.usage)), {}};
  }
  try {
    Result<std::string> r = it->second.plugin->Handle(Call{op.verb, op.args});
    if (!r.ok()) return {r.status(), {}};
    return {Status::Ok(), std::move(r).value()};
  } catch (const std::exception& e) {
    return {Internal(fmt::format("plugin '{}' failed in '{}': {}", v.plugin, v.name, e.what())), {}};
  } catch (...) {
    return {Internal(fmt::format("plugin '{}' failed in '{}'", v.plugin, v.name)), {}};
  }
}

}  // namespace arbor
