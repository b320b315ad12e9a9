// Status: the outcome of an operation that can fail, as a value.
//
// A Status is a code plus a human-readable message. It is the error currency at every boundary
// of arbor: plugin handlers, the wire protocol, config loading and process control. Error codes
// travel on the wire, so their numeric values are part of the protocol and never change.
//
// Thread-safety: a Status is a plain value; distinct objects may be used from distinct threads.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace arbor {

enum class Code : std::uint8_t {
  kOk = 0,
  kNotFound = 1,          // no such node (or no such thing the caller named)
  kUnavailable = 2,       // the node exists but cannot be reached: dead, hung, deadline passed
  kAlreadyExists = 3,     // create of an id that is already in the tree
  kInvalidArgument = 4,   // malformed command, bad name, bad value, bad arity
  kUnknownVerb = 5,       // the node has no plugin serving this verb
  kInternal = 6,          // a bug or an unexpected failure (a throwing handler lands here)
  kFailedPrecondition = 7 // the operation cannot run in the current state
};

// Returns a short stable name for `code`, such as "unavailable".
// Inline, like the rest of the plugin API, so a plugin never links against the runtime.
inline const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not found";
    case Code::kUnavailable: return "unavailable";
    case Code::kAlreadyExists: return "already exists";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kUnknownVerb: return "unknown verb";
    case Code::kInternal: return "internal error";
    case Code::kFailedPrecondition: return "failed precondition";
  }
  return "unknown code";
}

class Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "unavailable: node 5 has no connection", or "ok".
  std::string ToString() const {
    if (ok()) return "ok";
    return message_.empty() ? CodeName(code_) : std::string(CodeName(code_)) + ": " + message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status UnknownVerb(std::string m) { return {Code::kUnknownVerb, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {Code::kFailedPrecondition, std::move(m)};
}

}  // namespace arbor
