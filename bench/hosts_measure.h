// Round trips across hosts: a chain of three nodes, one per network-namespace host of a
// NetnsLab (tests/support/netns_lab.h), over tcp or tls+tcp, against the same chain on abstract
// sockets on this machine. Needs root; HostsUnavailable() says why not otherwise.
#pragma once

#include <string>
#include <vector>

namespace arbor::bench {

// Empty when a lab can be built here; otherwise one line saying why not.
std::string HostsUnavailable();

// Builds a lab of three hosts and, for each of `transports` ("abstract": the default config, one
// machine; "tcp": plain tcp, insecure: true; "tls": tls+tcp with the lab's CA and certificates),
// measures `get` round trips to node 3 of the chain 1 -> 2 -> 3 (on h1, h2, h3 across hosts),
// `inflight` outstanding; one JSON line each ("hosts", or "hosts_raw" without coalescing).
// The lab is removed whatever happens: an exception, or SIGINT, SIGTERM or SIGHUP (which it
// blocks in every thread and leaves to a watcher of its own: call it before any thread exists).
// Returns the exit code: 0, 1 on a failure, 3 when no lab can be built here.
int MeasureHosts(const std::vector<std::string>& transports, int inflight, int count,
                 bool coalesce);

}  // namespace arbor::bench
