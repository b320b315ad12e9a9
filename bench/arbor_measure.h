// Measurements of arbor itself, through the controller's own client path (Deployment and
// Scheduler), on real node processes.
#pragma once

#include <string>

#include "stats.h"

namespace arbor::bench {

enum class Op { kGet, kSet, kPing };
Op ParseOp(const std::string& name);

// Round trips to the node at `depth` of a chain built from sorted ids, `inflight` commands
// outstanding. `coalesce`: through the Scheduler, which packs queued commands to one node into
// one message (what the controller does); otherwise one message per command (the raw path).
Figures MeasureRoundTrip(int depth, Op op, int inflight, int count, bool coalesce);

// kill -9 -> ping answers Ok: 0; SIGSTOP -> a command's end; a healthy command meanwhile.
void MeasureFailure(int repeats);

// Creates `nodes` random ids (a bushy tree), pingall, and RSS/threads per node.
// `sequential`: each create waits for the one before (the baseline for concurrent creates).
void MeasureScale(int nodes, unsigned seed, bool sequential);

}  // namespace arbor::bench
