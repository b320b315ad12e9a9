#include "tree_view.h"

#include <fmt/color.h>
#include <fmt/format.h>

namespace arbor::controller {
namespace {

constexpr std::string_view kEmpty = "(empty tree)";

// Everything after the id, as the text form spells it.
std::string Details(const TreeRow& r, std::string_view state) {
  // A process that is gone has no pid to show: "-" rather than one that may be reused.
  std::string pid = r.pid > 0 ? std::to_string(r.pid) : "-";
  std::string out = fmt::format("{} pid={} restarts={}", state, pid, r.restarts);
  if (r.host) out += " host=" + *r.host;
  return out;
}

fmt::text_style StateStyle(const std::string& state) {
  if (state == "up") return fmt::fg(fmt::terminal_color::green);
  if (state == "restarting") return fmt::fg(fmt::terminal_color::yellow);
  if (state == "down") return fmt::fg(fmt::terminal_color::red) | fmt::emphasis::bold;
  return fmt::fg(fmt::terminal_color::magenta);  // unreachable
}

std::string_view DotColour(const std::string& state) {
  if (state == "up") return "forestgreen";
  if (state == "restarting") return "orange";
  if (state == "down") return "red";
  return "gray50";  // unreachable
}

// Text for inside a DOT string literal: only '"' and '\' need escaping; newlines are kept out.
std::string DotEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

// Whether row i is the last child of its parent: no later sibling before the subtree ends.
std::vector<bool> LastChild(const std::vector<TreeRow>& rows) {
  std::vector<bool> last(rows.size(), true);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::size_t j = i + 1; j < rows.size() && rows[j].depth >= rows[i].depth; ++j) {
      if (rows[j].depth == rows[i].depth) {
        last[i] = false;
        break;
      }
    }
  }
  return last;
}

}  // namespace

std::string TreeText(const std::vector<TreeRow>& rows) {
  if (rows.empty()) return std::string(kEmpty);
  std::string out;
  for (const TreeRow& r : rows) {
    if (!out.empty()) out += '\n';
    out += fmt::format("{:{}}{} {}", "", 2 * r.depth, r.id, Details(r, r.state));
  }
  return out;
}

std::string TreePicture(const std::vector<TreeRow>& rows, bool colour) {
  if (rows.empty()) return std::string(kEmpty);
  std::vector<bool> last = LastChild(rows);
  std::vector<bool> open;  // per depth: does a line still run down past this row?
  std::string out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const TreeRow& r = rows[i];
    if (!out.empty()) out += '\n';
    for (int d = 1; d < r.depth; ++d) out += open[d] ? "│   " : "    ";
    if (r.depth > 0) out += last[i] ? "└── " : "├── ";
    open.resize(r.depth + 1);
    open[r.depth] = !last[i];
    std::string state = colour ? fmt::format(StateStyle(r.state), "{}", r.state) : r.state;
    out += fmt::format("{} {}", r.id, Details(r, state));
  }
  return out;
}

std::string TreeDot(const std::vector<TreeRow>& rows) {
  std::string out = "digraph arbor {\n  node [shape=box, style=rounded];\n";
  for (const TreeRow& r : rows) {
    out += fmt::format("  \"{}\" [label=\"{}\\n{}\", color={}];\n", r.id, r.id,
                       DotEscape(Details(r, r.state)), DotColour(r.state));
  }
  for (const TreeRow& r : rows) {
    if (!r.parent) continue;
    out += fmt::format("  \"{}\" -> \"{}\";\n", *r.parent, r.id);
  }
  return out + "}";
}

}  // namespace arbor::controller
