// arbor-bench: measures arbor and its nng baselines. Each measurement prints one JSON line;
// bench/run.sh repeats them, takes medians and writes the tables and plots.
//
//   arbor-bench rtt --depth 3 --op get --inflight 64 --count 20000 [--raw]
//   arbor-bench nng --depth 3 --inflight 1 --count 20000
//   arbor-bench failure [--repeats 5]
//   arbor-bench scale --nodes 1000             (also times pingall and tree)
//   arbor-bench hosts --transports abstract,tcp,tls --inflight 1 --count 5000 [--raw]  (root)
//   arbor-bench hosts --probe     (exit 0 when the network-namespace lab can run here, else 3)
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "arbor/supervisor.h"
#include "arbor_measure.h"
#include "hosts_measure.h"
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
  auto* scale = app.add_subcommand("scale", "create, pingall and tree over many nodes");
  scale->add_option("--nodes", nodes);
  scale->add_option("--seed", seed);
  bool sequential = false;
  scale->add_flag("--sequential", sequential, "one create at a time (the baseline)");
  auto* hosts = app.add_subcommand(
      "hosts", "get round trips to depth 3 with one node on each of three network-namespace "
               "hosts (a NetnsLab: needs root), per transport");
  std::vector<std::string> transports = {"abstract", "tcp", "tls"};
  bool probe = false;
  hosts->add_option("--transports", transports,
                    "abstract (the default config, one machine), tcp (insecure), tls (tls+tcp)")
      ->delimiter(',')
      ->check(CLI::IsMember({"abstract", "tcp", "tls"}));
  hosts->add_option("--inflight", inflight);
  hosts->add_option("--count", count);
  hosts->add_flag("--raw", raw, "one message per command (no per-node coalescing)");
  hosts->add_flag("--probe", probe, "only say whether the lab can be built here (exit 0, else 3)");
  CLI11_PARSE(app, argc, argv);

  if (*hosts && probe) {
    std::string why = HostsUnavailable();
    if (!why.empty()) std::puts(why.c_str());
    return why.empty() ? 0 : 3;
  }
  if (*hosts) return MeasureHosts(transports, inflight, count, !raw);
  try {
    if (*rtt) {
      Figures f = MeasureRoundTrip(depth, ParseOp(op), inflight, count, !raw);
      Emit(raw ? "arbor_raw" : "arbor", {{"depth", std::to_string(depth)},
                                         {"op", "\"" + op + "\""},
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
  } catch (const std::exception& e) {  // a failed create or a wrong answer
    std::fprintf(stderr, "arbor-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
