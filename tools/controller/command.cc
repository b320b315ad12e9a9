#include "command.h"

#include <array>
#include <charconv>

#include <fmt/format.h>

#include "arbor/escape.h"
#include "ping_series.h"

namespace arbor::controller {
namespace {

// The words of a line, split at blanks exactly as `std::istream >> std::string` splits them
// (the classic locale's isspace), viewed in place, so parsing copies only what the Command
// keeps. Most commands have a few words, which stay on the stack; more spill into a vector.
class Words {
 public:
  explicit Words(std::string_view line) {
    // ' ', '\t', '\n', '\v', '\f' and '\r'.
    auto blank = [](char ch) { return ch == ' ' || (ch >= '\t' && ch <= '\r'); };
    for (std::size_t i = 0; i < line.size();) {
      if (blank(line[i])) {
        ++i;
        continue;
      }
      std::size_t b = i;
      while (i < line.size() && !blank(line[i])) ++i;
      Add(line.substr(b, i - b));
    }
  }
  std::size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  const std::string_view* begin() const { return n_ <= few_.size() ? few_.data() : many_.data(); }
  const std::string_view* end() const { return begin() + n_; }
  std::string_view operator[](std::size_t i) const { return begin()[i]; }

 private:
  void Add(std::string_view w) {
    if (n_ < few_.size()) {
      few_[n_++] = w;
      return;
    }
    if (n_ == few_.size()) many_.assign(few_.begin(), few_.end());
    many_.push_back(w);
    ++n_;
  }
  std::array<std::string_view, 8> few_;
  std::vector<std::string_view> many_;
  std::size_t n_ = 0;
};

Status Usage(std::string_view synopsis) {
  return InvalidArgument(fmt::format("usage: {}", synopsis));
}

Result<NodeId> IdArg(std::string_view word) {
  if (auto id = ParseNodeId(word)) return *id;
  return InvalidArgument(fmt::format("invalid node id '{}': ids are 64-bit integers",
                                      Escape(word)));
}

std::optional<int> IntIn(std::string_view word, int min, int max) {
  int v = 0;
  auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
  if (ec != std::errc() || end != word.data() + word.size() || v < min || v > max) {
    return std::nullopt;
  }
  return v;
}

// ping <id> [-c N [-i ms]], the options in either order.
Result<Command> ParsePing(const Words& w, Command c) {
  static constexpr std::string_view kSynopsis = "ping <id> [-c count [-i ms]]";
  if (w.size() < 2 || w.size() % 2 != 0) return Usage(kSynopsis);
  Result<NodeId> id = IdArg(w[1]);
  if (!id.ok()) return id.status();
  c.kind = CommandKind::kPing;
  c.id = *id;
  bool interval = false;
  for (std::size_t i = 2; i + 1 < w.size(); i += 2) {
    if (w[i] == "-c" && c.count == 0) {
      std::optional<int> n = IntIn(w[i + 1], 1, kMaxPingCount);
      if (!n) {
        return InvalidArgument(fmt::format("invalid count '{}': -c takes 1 to {} probes",
                                           Escape(w[i + 1]), kMaxPingCount));
      }
      c.count = *n;
    } else if (w[i] == "-i" && !interval) {
      std::optional<int> ms = IntIn(w[i + 1], kMinPingIntervalMs, kMaxPingIntervalMs);
      if (!ms) {
        return InvalidArgument(fmt::format("invalid interval '{}': -i takes {} to {} ms",
                                           Escape(w[i + 1]), kMinPingIntervalMs,
                                           kMaxPingIntervalMs));
      }
      c.interval_ms = *ms;
      interval = true;
    } else {
      return Usage(kSynopsis);
    }
  }
  if (interval && c.count == 0) return InvalidArgument("-i needs -c: ping <id> -c count -i ms");
  if (c.count > 0 && !interval) c.interval_ms = kDefaultPingIntervalMs;
  return c;
}

}  // namespace

std::string CommandText(std::string_view line) {
  std::size_t b = line.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  std::size_t e = line.find_last_not_of(" \t\r\n");
  return std::string(line.substr(b, e - b + 1));
}

bool IsBuiltin(std::string_view w) {
  return w == "create" || w == "remove" || w == "ping" || w == "pingall" || w == "tree" || w == "info" ||
         w == "help" || w == "exit" || w == "quit";
}

std::optional<Result<Command>> ParseCommand(std::string_view line, const VerbCatalog& verbs) {
  Words w(line);
  if (w.empty() || w[0][0] == '#') return std::nullopt;
  Command c;
  c.text = CommandText(line);
  const std::string_view verb = w[0];
  std::size_t argc = w.size() - 1;
  // Checked here, per command, so one oversized command cannot fail the batch it would share.
  for (std::string_view word : w) {
    if (word.size() > kMaxStringBytes) {
      return InvalidArgument(fmt::format("an argument of {} bytes is over the {}-byte limit",
                                         word.size(), kMaxStringBytes));
    }
  }

  auto with_id = [&](CommandKind kind, std::size_t min, std::size_t max,
                     std::string_view synopsis) -> Result<Command> {
    if (argc < min || argc > max) return Usage(synopsis);
    Result<NodeId> id = IdArg(w[1]);
    if (!id.ok()) return id.status();
    // create's optional parent is ignored (the BST decides placement) but must be well formed.
    if (kind == CommandKind::kCreate && argc == 2 && !ParseNodeId(w[2])) {
      return InvalidArgument(
          fmt::format("invalid parent id '{}': ids are 64-bit integers", Escape(w[2])));
    }
    c.kind = kind;
    c.id = *id;
    return c;
  };
  auto bare = [&](CommandKind kind) -> Result<Command> {
    if (argc != 0) return Usage(verb);
    c.kind = kind;
    return c;
  };

  if (verb == "create") return with_id(CommandKind::kCreate, 1, 2, "create <id> [parent]");
  if (verb == "remove") return with_id(CommandKind::kRemove, 1, 1, "remove <id>");
  if (verb == "ping") return ParsePing(w, std::move(c));
  if (verb == "info" && argc == 2 && w[2] == "--limits") {
    Result<Command> info = with_id(CommandKind::kInfo, 1, 2, "info <id> [--limits]");
    if (info.ok()) info->args = {"limits"};
    return info;
  }
  if (verb == "info") return with_id(CommandKind::kInfo, 1, 1, "info <id> [--limits]");
  if (verb == "pingall") return bare(CommandKind::kPingAll);
  if (verb == "tree" && argc == 1 && w[1] == "--dot") {
    c.kind = CommandKind::kTree;
    c.dot = true;
    return c;
  }
  if (verb == "tree" && argc != 0) return Usage("tree [--dot]");
  if (verb == "tree") return bare(CommandKind::kTree);
  if (verb == "help") {
    if (argc > 1) return Usage("help [verb]");
    // `help <verb>` carries the verb in c.verb; one that does not exist is a bad line now.
    if (argc == 1 && !IsBuiltin(w[1]) && verbs.find(w[1]) == verbs.end()) {
      return InvalidArgument(fmt::format("unknown command '{}' (type 'help' for the list)", w[1]));
    }
    c.kind = CommandKind::kHelp;
    if (argc == 1) c.verb = w[1];
    return c;
  }
  if (verb == "exit" || verb == "quit") return bare(CommandKind::kExit);

  auto it = verbs.find(verb);
  if (it == verbs.end()) {
    return InvalidArgument(fmt::format("unknown command '{}' (type 'help' for the list)",
                                       Escape(verb)));
  }
  const VerbInfo& v = it->second;
  if (argc < 1 || argc - 1 < std::size_t(v.min_args) || argc - 1 > std::size_t(v.max_args)) {
    return Usage(fmt::format("{} <id>{}{}", v.name, v.usage.empty() ? "" : " ", v.usage));
  }
  Result<NodeId> id = IdArg(w[1]);
  if (!id.ok()) return id.status();
  c.kind = CommandKind::kVerb;
  c.id = *id;
  c.verb = verb;
  c.args.assign(w.begin() + 2, w.end());
  return c;
}

std::optional<NodeId> NodeOf(const Command& c) {
  switch (c.kind) {
    case CommandKind::kCreate:
    case CommandKind::kRemove:
    case CommandKind::kPing:
    case CommandKind::kInfo:
    case CommandKind::kVerb: return c.id;
    default: return std::nullopt;
  }
}

std::vector<std::string> HelpText(const VerbCatalog& verbs) {
  std::vector<std::string> out = {
      "create <id> [parent]       start node <id> where BST insertion puts it (parent is ignored)",
      "remove <id>                stop node <id> and its whole subtree",
      "ping <id> [-c N [-i ms]]   Ok: 1 if the node answers, Ok: 0 if it exists but is unreachable;",
      "                           -c: N probes (1-10000) every ms (10-60000, default 1000), one",
      "                           line each, then the loss and round-trip statistics",
      "pingall                    Ok: -1 if every node answers, else the unreachable ids",
      "tree [--dot]               every node with its state (up/down/restarting/unreachable),",
      "                           pid and restart count, one line each (drawn as a tree, in",
      "                           colour, on a terminal); --dot: a Graphviz digraph",
      "info <id> [--limits]       pid, children and plugins; --limits: threads, fds, free pids",
      "help [verb]                this list, or one command's usage, summary and plugin",
      "exit | quit                stop every node and leave",
  };
  for (const auto& [name, v] : verbs) {
    if (IsBuiltin(name)) continue;
    std::string synopsis = fmt::format("{} <id>{}{}", name, v.usage.empty() ? "" : " ", v.usage);
    // A plugin's usage and help are its own text: each stays on its line, and off the terminal.
    out.push_back(Escape(fmt::format("{:<26} {} [plugin {}]", synopsis, v.help, v.plugin)));
  }
  return out;
}

}  // namespace arbor::controller
