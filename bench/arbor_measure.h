// Measurements of arbor itself, through the controller's own client path (Deployment and
// Scheduler), on real node processes.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "arbor/config.h"
#include "stats.h"

namespace arbor::controller {
class Deployment;
}

namespace arbor::bench {

enum class Op { kGet, kSet, kPing };
Op ParseOp(const std::string& name);

// Where a measured chain runs.
struct ChainSetup {
  // The deployment; unset: the embedded default (abstract sockets, this machine).
  std::optional<Config> config;
  // Runs once the chain's nodes exist, before the warm-up (e.g. to check where they run);
  // throws to refuse the chain.
  std::function<void(controller::Deployment&)> check;
};

// Round trips to the node at `depth` of a chain built from sorted ids (created in id order),
// `inflight` commands outstanding. `coalesce`: through the Scheduler, which packs queued
// commands to one node into one message (what the controller does); otherwise one message per
// command (the raw path). Throws std::runtime_error when a node cannot be created or an answer
// is wrong; the deployment is shut down first.
Figures MeasureRoundTrip(int depth, Op op, int inflight, int count, bool coalesce,
                         const ChainSetup& setup = {});

// kill -9 -> ping answers Ok: 0; SIGSTOP -> a command's end; a healthy command meanwhile.
void MeasureFailure(int repeats);

// Creates `nodes` random ids (a bushy tree); pingall and tree (medians of a few calls each), and
// RSS/threads per node.
// `sequential`: each create waits for the one before (the baseline for concurrent creates).
void MeasureScale(int nodes, unsigned seed, bool sequential);

}  // namespace arbor::bench
