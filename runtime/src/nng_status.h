// The one place where nng error codes become arbor Statuses.
#pragma once

#include <string_view>

#include "arbor/status.h"

namespace arbor {

// Maps an nng error from `what` (e.g. "send to node 5") to a Status. Connection loss, timeouts
// and closed sockets all mean the peer cannot answer: kUnavailable.
Status FromNng(int rv, std::string_view what);

}  // namespace arbor
