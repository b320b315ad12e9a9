#include "completion.h"

#include <sstream>

#include "verb_usage.h"

namespace arbor::controller {
namespace {

std::vector<std::string> Words(std::string_view line) {
  std::vector<std::string> words;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

bool EndsInSpace(std::string_view line) {
  return !line.empty() && (line.back() == ' ' || line.back() == '\t');
}

}  // namespace

std::vector<std::string> Completions(std::string_view before_cursor, const VerbCatalog& verbs,
                                     const std::vector<NodeId>& ids) {
  std::vector<std::string> words = Words(before_cursor);
  std::string prefix;
  if (!words.empty() && !EndsInSpace(before_cursor)) {
    prefix = words.back();
    words.pop_back();
  }
  std::vector<std::string> all;
  if (words.empty()) {
    all = AllVerbs(verbs);
  } else if (std::optional<VerbUsage> usage = FindUsage(words[0], verbs)) {
    std::vector<std::string> slots = Words(usage->synopsis);
    SlotKind kind = SlotKind::kOther;
    if (words.size() < slots.size()) kind = KindOfSlot(slots[words.size()]);
    // create's <id> names a node that does not exist yet: no known id can go there.
    if (words[0] == "create" && words.size() == 1) kind = SlotKind::kOther;
    if (kind == SlotKind::kVerb) all = AllVerbs(verbs);
    if (kind == SlotKind::kNodeId) {
      for (NodeId id : ids) all.push_back(std::to_string(id));
    }
  }
  std::vector<std::string> out;
  for (std::string& c : all) {
    if (c.compare(0, prefix.size(), prefix) == 0) out.push_back(std::move(c));
  }
  return out;
}

std::string Hint(std::string_view line, const VerbCatalog& verbs) {
  std::vector<std::string> words = Words(line);
  if (words.empty()) return "";
  std::optional<VerbUsage> usage = FindUsage(words[0], verbs);
  if (!usage) return "";
  std::vector<std::string> slots = Words(usage->synopsis);
  std::string hint;
  for (std::size_t i = words.size(); i < slots.size(); ++i) {
    hint += (hint.empty() ? "" : " ") + slots[i];
  }
  if (hint.empty() || EndsInSpace(line)) return hint;
  return " " + hint;
}

}  // namespace arbor::controller
