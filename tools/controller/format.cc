#include "format.h"

#include <charconv>

#include <fmt/format.h>

#include "arbor/escape.h"

namespace arbor::controller {
namespace {

Outcome Failed(std::string error) {
  Outcome o;
  o.ok = false;
  o.error = std::move(error);
  return o;
}

Outcome ForNode(NodeId id, Outcome o) {
  o.style = Outcome::Style::kNode;
  o.node = id;
  return o;
}

}  // namespace

Outcome OkOutcome(std::string result, Outcome::Style style) {
  Outcome o;
  o.result = std::move(result);
  o.style = style;
  return o;
}

Outcome ErrorOutcome(const Status& error) { return Failed(error.message()); }

// Errors and plugin answers quote input (a name, a value, a plugin's own text) and are escaped,
// so each stays one line that cannot drive the terminal. Normal values are printable and pass
// unchanged. kText results (help, tree pictures, ping series) are the controller's own
// multi-line text and are printed as they are.
//
// Built by appending: a batch prints one line per command, and fmt::format (parsing the format
// string, then escaping into a temporary string) cost twice as much per line.
std::string PlainLine(const Outcome& o) {
  std::string out;
  auto prefix = [&](std::string_view word, bool node, std::string_view text) {
    char id[24];
    std::size_t digits = node ? std::to_chars(id, id + sizeof id, o.node).ptr - id : 0;
    // Exact for printable text, so a short line stays in the string's own buffer.
    out.reserve(word.size() + digits + 2 + text.size());
    out += word;
    out.append(id, digits);
    if (text.empty() && o.ok) return;  // "Ok" or "Ok:<node>"
    out += node ? ": " : " ";
    AppendEscaped(out, text);
  };
  switch (o.style) {
    case Outcome::Style::kNode:
      if (!o.ok) {
        prefix("Error:", true, o.error);
      } else {
        prefix("Ok:", true, o.result);
      }
      return out;
    case Outcome::Style::kText:
      if (!o.ok) {
        prefix("Error:", false, o.error);
        return out;
      }
      return o.result;
    case Outcome::Style::kGeneral: break;
  }
  if (!o.ok) {
    prefix("Error:", false, o.error);
  } else if (o.result.empty()) {
    out = "Ok";
  } else {
    prefix("Ok:", false, o.result);
  }
  return out;
}

Outcome NotFoundVerbOutcome(NodeId id) { return ForNode(id, Failed("Not found")); }

Outcome VerbOutcome(NodeId id, const Status& route, const OpResult* op) {
  // The controller sends only to ids it knows exist, so a hop that has no such child means the
  // tree is incomplete for now (a respawned node has not taken its children back yet).
  if (route.code() == Code::kUnavailable || route.code() == Code::kNotFound) {
    return ForNode(id, Failed("Node is unavailable"));
  }
  if (!route.ok()) return ForNode(id, Failed(route.message()));
  if (op == nullptr) return ForNode(id, Failed("the node sent no result"));
  if (!op->status.ok()) return ForNode(id, Failed(op->status.message()));
  // Built in place: the answer every successful command gets, so no Outcome is moved.
  Outcome o;
  o.result = op->text;
  o.style = Outcome::Style::kNode;
  o.node = id;
  return o;
}

Outcome PingOutcome(NodeId id, const Status& route, const OpResult* op) {
  if (route.code() == Code::kUnavailable || route.code() == Code::kNotFound) return OkOutcome("0");
  if (!route.ok()) return ErrorOutcome(route);
  if (op == nullptr) return OkOutcome("0");
  if (op->status.code() == Code::kUnknownVerb) {
    return Failed(fmt::format("node {} cannot be pinged: it does not load the ping plugin", id));
  }
  if (!op->status.ok()) return ErrorOutcome(op->status);
  return OkOutcome("1");
}

Outcome PingAllOutcome(const std::vector<NodeId>& unreachable) {
  if (unreachable.empty()) return OkOutcome("-1");
  return OkOutcome(fmt::format("{}", fmt::join(unreachable, ";")));
}

Outcome CreateOutcome(const Result<pid_t>& created) {
  if (created.ok()) return OkOutcome(std::to_string(*created));
  switch (created.status().code()) {
    case Code::kAlreadyExists: return Failed("Already exists");
    case Code::kUnavailable: return Failed("Parent is unavailable");
    default: return ErrorOutcome(created.status());
  }
}

Outcome RemoveOutcome(const Status& removed) {
  switch (removed.code()) {
    case Code::kOk: return OkOutcome("");
    case Code::kNotFound: return Failed("Not found");
    case Code::kUnavailable: return Failed("Node is unavailable");
    default: return ErrorOutcome(removed);
  }
}

std::string FormatNotFoundVerb(NodeId id) { return PlainLine(NotFoundVerbOutcome(id)); }
std::string FormatVerb(NodeId id, const Status& route, const OpResult* op) {
  return PlainLine(VerbOutcome(id, route, op));
}
std::string FormatPing(NodeId id, const Status& route, const OpResult* op) {
  return PlainLine(PingOutcome(id, route, op));
}
std::string FormatPingAll(const std::vector<NodeId>& unreachable) {
  return PlainLine(PingAllOutcome(unreachable));
}
std::string FormatCreate(const Result<pid_t>& created) { return PlainLine(CreateOutcome(created)); }
std::string FormatRemove(const Status& removed) { return PlainLine(RemoveOutcome(removed)); }
std::string FormatError(const Status& error) { return PlainLine(ErrorOutcome(error)); }

}  // namespace arbor::controller
