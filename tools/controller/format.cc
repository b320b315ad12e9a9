#include "format.h"

#include <fmt/format.h>

namespace arbor::controller {

std::string FormatNotFoundVerb(NodeId id) { return fmt::format("Error:{}: Not found", id); }

std::string FormatVerb(NodeId id, const Status& route, const OpResult* op) {
  // The controller sends only to ids it knows exist, so a hop that has no such child means the
  // tree is incomplete for now (a respawned node has not taken its children back yet).
  if (route.code() == Code::kUnavailable || route.code() == Code::kNotFound) {
    return fmt::format("Error:{}: Node is unavailable", id);
  }
  if (!route.ok()) return fmt::format("Error:{}: {}", id, route.message());
  if (op == nullptr) return fmt::format("Error:{}: the node sent no result", id);
  if (!op->status.ok()) return fmt::format("Error:{}: {}", id, op->status.message());
  if (op->text.empty()) return fmt::format("Ok:{}", id);
  return fmt::format("Ok:{}: {}", id, op->text);
}

std::string FormatPing(NodeId id, const Status& route, const OpResult* op) {
  if (route.code() == Code::kUnavailable || route.code() == Code::kNotFound) return "Ok: 0";
  if (!route.ok()) return FormatError(route);
  if (op == nullptr) return "Ok: 0";
  if (op->status.code() == Code::kUnknownVerb) {
    return fmt::format("Error: node {} cannot be pinged: it does not load the ping plugin", id);
  }
  if (!op->status.ok()) return FormatError(op->status);
  return "Ok: 1";
}

std::string FormatPingAll(const std::vector<NodeId>& unreachable) {
  if (unreachable.empty()) return "Ok: -1";
  return fmt::format("Ok: {}", fmt::join(unreachable, ";"));
}

std::string FormatCreate(const Result<pid_t>& created) {
  if (created.ok()) return fmt::format("Ok: {}", *created);
  switch (created.status().code()) {
    case Code::kAlreadyExists: return "Error: Already exists";
    case Code::kUnavailable: return "Error: Parent is unavailable";
    default: return FormatError(created.status());
  }
}

std::string FormatRemove(const Status& removed) {
  switch (removed.code()) {
    case Code::kOk: return "Ok";
    case Code::kNotFound: return "Error: Not found";
    case Code::kUnavailable: return "Error: Node is unavailable";
    default: return FormatError(removed);
  }
}

std::string FormatError(const Status& error) { return fmt::format("Error: {}", error.message()); }

}  // namespace arbor::controller
