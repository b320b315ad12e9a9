// Result lines, exactly as SPEC.md prints them. Every answer the controller prints is made
// here, so the strings scripts compare against live in one place.
#pragma once

#include <string>
#include <vector>

#include "arbor/message.h"
#include "arbor/result.h"

namespace arbor::controller {

// exec and every other plugin verb: "Ok:<id>", "Ok:<id>: <text>", "Error:<id>: <message>".
// `route` is the reply's route status (or the transport failure); `op` the operation's result.
std::string FormatVerb(NodeId id, const Status& route, const OpResult* op);
std::string FormatNotFoundVerb(NodeId id);  // "Error:<id>: Not found"
// "Ok: 1", "Ok: 0", or an error when the node answers but serves no ping.
std::string FormatPing(NodeId id, const Status& route, const OpResult* op);
// "Ok: -1" or "Ok: 3;7;9".
std::string FormatPingAll(const std::vector<NodeId>& unreachable);
std::string FormatCreate(const Result<pid_t>& created);
std::string FormatRemove(const Status& removed);
std::string FormatError(const Status& error);  // "Error: <message>"

}  // namespace arbor::controller
