#include "nng_status.h"

#include <fmt/format.h>
#include <nng/nng.h>

namespace arbor {

Status FromNng(int rv, std::string_view what) {
  if (rv == 0) return Status::Ok();
  std::string msg = fmt::format("{}: {}", what, nng_strerror(rv));
  switch (rv) {
    case NNG_ETIMEDOUT:
    case NNG_ECONNRESET:
    case NNG_ECONNREFUSED:
    case NNG_ECONNSHUT:
    case NNG_ECLOSED:
    case NNG_ECANCELED:
    case NNG_ESTATE:
    case NNG_EAGAIN:
      return Unavailable(std::move(msg));
    case NNG_EINVAL:
    case NNG_EADDRINVAL:
    case NNG_EMSGSIZE:
      return InvalidArgument(std::move(msg));
    case NNG_EADDRINUSE:
      return FailedPrecondition(std::move(msg));
    default:
      return Internal(std::move(msg));
  }
}

}  // namespace arbor
