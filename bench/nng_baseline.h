// Baselines measured by the same program in the same run: a plain nng req/rep echo pair, and
// a plain nng forwarder chain (receive, re-send, wait, reply), written as simply as possible.
#pragma once

#include <string>

#include "stats.h"

namespace arbor::bench {

// Server side, run in a child process: `serve-echo <url>` and `serve-forward <in> <out>`.
int ServeEcho(const std::string& url);
int ServeForward(const std::string& in, const std::string& out);

// Starts a chain of `depth` processes (depth-1 forwarders, then the echo server), measures
// `count` round trips with `inflight` requests outstanding (contexts when > 1), stops them.
Figures MeasureNngChain(int depth, int inflight, int count, int payload_bytes);

}  // namespace arbor::bench
