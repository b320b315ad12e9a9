// arbor-bench: measures arbor and its nng baselines. Each measurement prints one JSON line;
// bench/run.sh repeats them, takes medians and writes the tables and plots.
//
//   arbor-bench rtt --depth 3 --op get --inflight 64 --count 20000 [--raw]
//   arbor-bench nng --depth 3 --inflight 1 --count 20000
//   arbor-bench failure [--repeats 5]
//   arbor-bench scale --nodes 1000
#include <CLI/CLI.hpp>

#include "arbor/supervisor.h"
#include "arbor_measure.h"
#include "nng_baseline.h"

using namespace arbor::bench;

int main(int argc, char** argv) {
  // Internal modes: the baseline's server processes.
  if (argc == 3 && std::string(argv[1]) == "serve-echo") return ServeEcho(argv[2]);
  if (argc == 4 && std::string(argv[1]) == "serve-forward") return ServeForward(argv[2], argv[3]);
  arbor::Supervisor::BlockChildSignal();

  CLI::App app{"arbor benchmarks"};
  app.require_subcommand(1);
  int depth = 1, inflight = 1, count = 10000, repeats = 3, nodes = 100;
  unsigned seed = 42;
  std::string op = "get";
  bool raw = false;
  auto* rtt = app.add_subcommand("rtt", "round trips to the node at a depth of a sorted chain");
  rtt->add_option("--depth", depth);
  rtt->add_option("--op", op)->check(CLI::IsMember({"get", "set", "ping"}));
  rtt->add_option("--inflight", inflight);
  rtt->add_option("--count", count);
  rtt->add_flag("--raw", raw, "one message per command (no per-node coalescing)");
  auto* nng = app.add_subcommand("nng", "plain nng echo (depth 1) or forwarder chain");
  nng->add_option("--depth", depth);
  nng->add_option("--inflight", inflight);
  nng->add_option("--count", count);
  auto* failure = app.add_subcommand("failure", "kill -9 and SIGSTOP detection");
  failure->add_option("--repeats", repeats);
  auto* scale = app.add_subcommand("scale", "create and pingall over many nodes");
  scale->add_option("--nodes", nodes);
  scale->add_option("--seed", seed);
  bool sequential = false;
  scale->add_flag("--sequential", sequential, "one create at a time (the baseline)");
  CLI11_PARSE(app, argc, argv);

  if (*rtt) {
    Figures f = MeasureRoundTrip(depth, ParseOp(op), inflight, count, !raw);
    Emit(raw ? "arbor_raw" : "arbor", {{"depth", std::to_string(depth)}, {"op", "\"" + op + "\""},
                                       {"inflight", std::to_string(inflight)}}, f);
  } else if (*nng) {
    Figures f = MeasureNngChain(depth, inflight, count, 48);
    Emit(depth == 1 ? "nng_echo" : "nng_forward",
         {{"depth", std::to_string(depth)}, {"inflight", std::to_string(inflight)}}, f);
  } else if (*failure) {
    MeasureFailure(repeats);
  } else if (*scale) {
    MeasureScale(nodes, seed, sequential);
  }
  return 0;
}
