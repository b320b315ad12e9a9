// --json output: one JSON object per command, on one line, for scripts that would rather not
// match result strings.
//
//   {"command":"exec 10 x","ok":true,"id":10,"result":"5","time_ms":0.214}
//   {"command":"exec 12 x","ok":false,"id":12,"error":"Not found","time_ms":0.009}
//
// `command` is the line as typed (trimmed); `id` is there when the command names a node;
// `result` (on success) is the text plain mode prints after "Ok: " or "Ok:<id>: " ("" for a
// bare "Ok"), or the whole text of a multi-line answer (tree, help, ping -c); `error` (on
// failure) is the message after "Error: " or "Error:<id>: "; `time_ms` runs from the command's
// submission to its answer. Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "arbor/message.h"
#include "format.h"

namespace arbor::controller {

// `text` as a JSON string literal, quotes included. Control characters become \uXXXX, and a
// byte that is not part of valid UTF-8 becomes U+FFFD, so the line is always valid JSON.
std::string JsonQuote(std::string_view text);

std::string JsonLine(std::string_view command, std::optional<NodeId> id, const Outcome& outcome,
                     double time_ms);

// What a front end prints for one answer: JsonLine() when `json`, else PlainLine().
std::string RenderAnswer(bool json, std::string_view command, std::optional<NodeId> id,
                         const Outcome& outcome, std::chrono::steady_clock::time_point submitted);

}  // namespace arbor::controller
