#include "arbor/status.h"

namespace arbor {

const char* CodeName(Code code) {
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

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_.empty() ? CodeName(code_) : std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace arbor
