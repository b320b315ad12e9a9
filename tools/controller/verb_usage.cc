#include "verb_usage.h"

#include "arbor/escape.h"

#include <algorithm>

#include <fmt/format.h>

namespace arbor::controller {
namespace {

std::string_view Trim(std::string_view s) {
  std::size_t b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

std::string_view FirstWord(std::string_view s) { return s.substr(0, s.find(' ')); }

// One entry of the built-in part of HelpText: "<synopsis>  <help>", where the help may go on
// in indented lines, and "exit | quit" names two commands that take the same arguments.
struct HelpEntry {
  std::vector<std::string> synopses;
  std::string help;
};

std::vector<HelpEntry> BuiltinEntries(const VerbCatalog& verbs) {
  std::vector<HelpEntry> out;
  for (const std::string& line : HelpText(verbs)) {
    if (line.empty()) continue;
    if (line[0] == ' ') {
      if (!out.empty()) out.back().help.append(" ").append(Trim(line));
      continue;
    }
    std::size_t gap = line.find("  ");
    std::string_view left = Trim(std::string_view(line).substr(0, gap));
    HelpEntry e;
    for (;;) {
      std::size_t bar = left.find(" | ");
      e.synopses.emplace_back(Trim(left.substr(0, bar)));
      if (bar == std::string_view::npos) break;
      left = left.substr(bar + 3);
    }
    if (!IsBuiltin(FirstWord(e.synopses[0]))) {
      out.push_back({});  // a plugin's line: its continuation lines must not join a built-in
      continue;
    }
    if (gap != std::string::npos) e.help = Trim(std::string_view(line).substr(gap));
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::optional<VerbUsage> FindUsage(std::string_view verb, const VerbCatalog& verbs) {
  if (IsBuiltin(verb)) {
    for (const HelpEntry& e : BuiltinEntries(verbs)) {
      for (const std::string& s : e.synopses) {
        if (FirstWord(s) == verb) return VerbUsage{s, e.help, ""};
      }
    }
    return VerbUsage{std::string(verb), "", ""};
  }
  auto it = verbs.find(verb);
  if (it == verbs.end()) return std::nullopt;
  const VerbInfo& v = it->second;
  // A plugin's strings come from a library anyone may have built: shown escaped, like every
  // other text that is not arbor's own.
  return VerbUsage{
      fmt::format("{} <id>{}{}", v.name, v.usage.empty() ? "" : " ", Escape(v.usage)),
      Escape(v.help), Escape(v.plugin)};
}

SlotKind KindOfSlot(std::string_view word) {
  if (word == "<id>" || word == "[parent]" || word == "<parent>") return SlotKind::kNodeId;
  if (word == "[verb]" || word == "<verb>") return SlotKind::kVerb;
  return SlotKind::kOther;
}

std::vector<std::string> AllVerbs(const VerbCatalog& verbs) {
  std::vector<std::string> out;
  for (const HelpEntry& e : BuiltinEntries(verbs)) {
    for (const std::string& s : e.synopses) out.emplace_back(FirstWord(s));
  }
  for (const auto& [name, v] : verbs) out.push_back(name);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> VerbHelp(std::string_view verb, const VerbCatalog& verbs) {
  std::optional<VerbUsage> u = FindUsage(verb, verbs);
  if (!u) return {fmt::format("Error: unknown command '{}' (type 'help' for the list)", verb)};
  std::string plugin = "none (built into the controller)";
  if (!u->plugin.empty()) {
    plugin = u->plugin;
  } else if (auto it = verbs.find(verb); it != verbs.end()) {
    // `ping` is built in, and the node answers it through a plugin.
    plugin = fmt::format("none (built into the controller); nodes answer it through plugin {}",
                         it->second.plugin);
  }
  return {"  " + u->synopsis, "  summary: " + u->help, "  plugin: " + plugin};
}

}  // namespace arbor::controller
