// Result lines, exactly as SPEC.md prints them. Every answer the controller prints is made
// here, so the strings scripts compare against live in one place.
//
// An answer is first an Outcome (data: did it succeed, and with what text), and a line only
// when printed: PlainLine() gives the SPEC text, json_line.h the --json object. So the two
// output modes cannot drift apart, and nothing re-parses a printed line.
#pragma once

#include <string>
#include <vector>

#include "arbor/message.h"
#include "arbor/result.h"

namespace arbor::controller {

struct Outcome {
  // How the plain line is spelled.
  enum class Style {
    kGeneral,  // "Ok", "Ok: <result>", "Error: <error>"
    kNode,     // "Ok:<node>", "Ok:<node>: <result>", "Error:<node>: <error>" (plugin verbs)
    kText,     // the result as it is, possibly several lines (tree, help); "Error: <error>"
  };
  bool ok = true;
  std::string result;  // when ok: the text after the "Ok" prefix; may be empty
  std::string error;   // when not ok: the message after the "Error" prefix
  Style style = Style::kGeneral;
  NodeId node = 0;  // kNode only
};

Outcome OkOutcome(std::string result, Outcome::Style style = Outcome::Style::kGeneral);
Outcome ErrorOutcome(const Status& error);  // "Error: <message>"
// The line(s) plain mode prints, exactly as SPEC spells them.
std::string PlainLine(const Outcome& outcome);

// exec and every other plugin verb: "Ok:<id>", "Ok:<id>: <text>", "Error:<id>: <message>".
// `route` is the reply's route status (or the transport failure); `op` the operation's result.
Outcome VerbOutcome(NodeId id, const Status& route, const OpResult* op);
Outcome NotFoundVerbOutcome(NodeId id);  // "Error:<id>: Not found"
// "Ok: 1", "Ok: 0", or an error when the node answers but serves no ping.
Outcome PingOutcome(NodeId id, const Status& route, const OpResult* op);
// "Ok: -1" or "Ok: 3;7;9".
Outcome PingAllOutcome(const std::vector<NodeId>& unreachable);
Outcome CreateOutcome(const Result<pid_t>& created);
Outcome RemoveOutcome(const Status& removed);

// The same, as plain lines.
std::string FormatVerb(NodeId id, const Status& route, const OpResult* op);
std::string FormatNotFoundVerb(NodeId id);
std::string FormatPing(NodeId id, const Status& route, const OpResult* op);
std::string FormatPingAll(const std::vector<NodeId>& unreachable);
std::string FormatCreate(const Result<pid_t>& created);
std::string FormatRemove(const Status& removed);
std::string FormatError(const Status& error);

}  // namespace arbor::controller
