// Talking to a node directly, as a peer other than its parent would: for tests of what a node
// does with messages the controller never sends (garbage, stale or forged batches).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "arbor/batch.h"

namespace arbor::testing {

// The session of a node, from its command line: its endpoint is abstract://arbor/<session>/<id>.
std::string SessionOf(pid_t pid);
// The default endpoint of node `id` in the session of the node process `pid`.
std::string NodeUrl(pid_t pid, long id);
// One raw request/reply exchange with a node, bypassing the controller; nullopt when no reply
// came within 3 s.
std::optional<std::string> RawExchange(const std::string& url, const std::string& bytes);
// Sends `batch` to the node at `url` and decodes its reply; fails the test when there is none.
BatchReply RawBatch(const std::string& url, const BatchRequest& batch);

}  // namespace arbor::testing
