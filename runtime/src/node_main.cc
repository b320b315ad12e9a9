// arbor-node: one compute node. Started by its parent (a node, or the controller for the root)
// through a Launcher, or by `arbor serve` under a supervisor (systemd, Kubernetes); not meant to
// be run by hand, though it can be for debugging (with the built-in default config):
//   arbor-node --id 5 --session dbg --ready-fd 1
//
// Its arguments come from a Launcher, not from people, so they are read with getopt_long
// from libc: CLI11, which the controller uses, would add about 220 KB of code to every node
// process of a tree.
#include <getopt.h>
#include <malloc.h>
#include <unistd.h>

#include <climits>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "arbor/config.h"
#include "arbor/config_handoff.h"
#include "arbor/escape.h"
#include "arbor/exit_watchdog.h"
#include "arbor/plugin_loader.h"
#include "arbor/launcher.h"
#include "process_spawn.h"
#include "arbor/supervisor.h"
#include "arbor/worker_pool.h"
#include "node.h"

namespace {

// The ready descriptor until the start has been reported on it: an exception that escapes
// main() (no memory, no thread) is reported there too, so the parent's create answers with
// the reason instead of "exited before it was ready".
int g_unreported_ready_fd = -1;

// Tells the parent how the start went, on the ready pipe; then closes it so the parent's read
// ends. Newlines in `text` would split the protocol line, so they become spaces.
void ReportReady(int fd, std::string line) {
  if (fd < 0) return;
  g_unreported_ready_fd = -1;
  for (char& c : line) c = (c == '\n') ? ' ' : c;
  line += "\n";
  [[maybe_unused]] ssize_t n = write(fd, line.data(), line.size());
  // On stdout (started over ssh), what follows must not reach the launcher's ready pipe:
  // stdout becomes a copy of stderr, as for a local node.
  if (fd == 1) {
    dup2(2, 1);
  } else {
    close(fd);
  }
}

int Fail(int ready_fd, const std::string& message) {
  spdlog::error("{}", message);
  // One line: the launcher reads the ready pipe line by line, and the message may quote a
  // plugin's own text.
  ReportReady(ready_fd, "error " + arbor::Escape(message));
  return 1;
}

// nng 1.5 starts its threads (task queues, poller, resolver, timers: 13 on this 2-core machine,
// more with more cores) when the first socket opens, and when one of them cannot start it
// fails badly: measured in a pids cgroup, it returns "Out of memory" with very few tasks left,
// but with 8 to 14 it crashed (SIGSEGV, a panic in pthread_mutex_lock) or hung. So before nng
// is touched, the node checks that this many threads can start now, and fails to start with a
// clear message otherwise. Another process may take the tasks between the check and nng's
// start; this narrows that window to a fraction of a millisecond, it cannot close it.
constexpr int kNngThreadsProbe = 16;

// Starts `n` threads that wait, then lets them all end: an error when any cannot start.
arbor::Status ProbeThreads(int n) {
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  std::vector<std::thread> threads(static_cast<std::size_t>(n));
  arbor::Status status;
  int started = 0;
  for (; started < n && status.ok(); ++started) {
    status = arbor::StartThread(threads[static_cast<std::size_t>(started)], [&] {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return go; });
    });
  }
  {
    std::lock_guard lock(mu);
    go = true;
  }
  cv.notify_all();
  for (std::thread& t : threads) {
    if (t.joinable()) t.join();
  }
  return status;
}

constexpr const char* kUsage =
    "usage: arbor-node --id N --session NAME [--config-fd FD | --config-hex HEX] [--host NAME]\n"
    "                  [--ready-fd FD] [--lifeline-fd FD] [--parent-id N] [--parent-host NAME]\n"
    "                  [--respawn] [--external]\n"
    "A compute node of an arbor tree, started by the arbor controller, by its parent node, or\n"
    "by `arbor serve` under a supervisor.\n"
    "  --id N             this node's id\n"
    "  --session NAME     the deployment session (fills {session} in the endpoint)\n"
    "  --config-fd FD     the deployment's config, handed over by the parent (default: built in)\n"
    "  --config-hex HEX   the same, as text (a node started over ssh)\n"
    "  --host NAME        the deployment host this node runs on\n"
    "  --ready-fd FD      write 'ok <pid> <url>' or 'error <message>' here once started\n"
    "  --lifeline-fd FD   exit when this descriptor reports EOF (the controller is gone)\n"
    "  --parent-id N      the parent node, to ask for re-adoption if cut off\n"
    "  --parent-host NAME the parent's host\n"
    "  --respawn          started again after dying: take back the children\n"
    "  --external         run by a supervisor: wait for a parent to attach this node\n";

struct Args {
  arbor::NodeOptions options;
  int ready_fd = -1;
  std::string config_hex;
};

// nullopt after printing why (or the usage, for --help); `status` is the exit status then.
std::optional<Args> ParseArgs(int argc, char** argv, int& status) {
  enum {
    kId = 1, kSession, kConfigFd, kReadyFd, kLifelineFd, kParentId, kRespawn, kHelp, kHost,
    kParentHost, kConfigHex, kExternal
  };
  static const option kLong[] = {
      {"id", required_argument, nullptr, kId},
      {"session", required_argument, nullptr, kSession},
      {"config-fd", required_argument, nullptr, kConfigFd},
      {"ready-fd", required_argument, nullptr, kReadyFd},
      {"lifeline-fd", required_argument, nullptr, kLifelineFd},
      {"parent-id", required_argument, nullptr, kParentId},
      {"respawn", no_argument, nullptr, kRespawn},
      {"host", required_argument, nullptr, kHost},
      {"parent-host", required_argument, nullptr, kParentHost},
      {"config-hex", required_argument, nullptr, kConfigHex},
      {"external", no_argument, nullptr, kExternal},
      {"help", no_argument, nullptr, kHelp},
      {nullptr, 0, nullptr, 0}};
  Args a;
  bool have_id = false;
  status = 2;
  auto read_fd = [](int& fd) {
    std::optional<arbor::NodeId> v = arbor::ParseNodeId(optarg);  // any whole integer
    bool ok = v && *v >= 0 && *v <= INT_MAX;
    if (ok) fd = static_cast<int>(*v);
    return ok;
  };
  auto bad = [&](const char* what) {
    fmt::print(stderr, "arbor-node: bad {} '{}'\n{}", what, arbor::Escape(optarg), kUsage);
    return std::nullopt;
  };
  opterr = 1;
  for (int c; (c = getopt_long(argc, argv, "", kLong, nullptr)) != -1;) {
    switch (c) {
      case kId: {
        auto v = arbor::ParseNodeId(optarg);
        if (!v) return bad("--id");
        a.options.id = *v;
        have_id = true;
        break;
      }
      case kSession: a.options.session = optarg; break;
      case kConfigFd:
        if (!read_fd(a.options.config_fd)) return bad("--config-fd");
        break;
      case kReadyFd:
        if (!read_fd(a.ready_fd)) return bad("--ready-fd");
        break;
      case kLifelineFd:
        if (!read_fd(a.options.lifeline_fd)) return bad("--lifeline-fd");
        break;
      case kParentId: {
        auto v = arbor::ParseNodeId(optarg);
        if (!v) return bad("--parent-id");
        a.options.parent_id = *v;
        break;
      }
      case kRespawn: a.options.respawn = true; break;
      case kHost: a.options.host = optarg; break;
      case kParentHost: a.options.parent_host = optarg; break;
      case kConfigHex: a.config_hex = optarg; break;
      case kExternal: a.options.external = true; break;
      case kHelp:
        fmt::print("{}", kUsage);
        status = 0;
        return std::nullopt;
      default:  // getopt_long has said what was wrong
        fmt::print(stderr, "{}", kUsage);
        return std::nullopt;
    }
  }
  if (optind < argc || !have_id || a.options.session.empty()) {
    fmt::print(stderr, "arbor-node: --id and --session are required, and nothing else\n{}",
               kUsage);
    return std::nullopt;
  }
  return a;
}

// Once the supervisor's loop has returned, nothing else watches the lifeline or reads SIGTERM,
// and what is left can block: nng_close with TLS pipes open was seen to hang for minutes. An
// ExitWatchdog bounds each step. StopChild gives a child request_ms to answer, 1 s to exit and
// 2 s more after SIGKILL; the two sides stop in parallel, or one after the other when no thread
// can be had, hence twice that, plus a second of margin. Closing, the destructors and exit's own
// work get 1 s.
constexpr std::chrono::milliseconds kCloseBound{1000};

std::chrono::milliseconds StopChildrenBound(const arbor::Config& config) {
  using namespace std::chrono_literals;
  return 2 * (std::chrono::milliseconds(config.request_ms) + 3s) + 1s;
}

// The watchdog for the rest of the process's life: it also ends it at the lifeline's EOF and
// at a SIGTERM (the stop has begun: one more means "now"). `exit_code` when a bound passes;
// a stopping node uses 0, since by then it has done what its stop asks: each child was asked
// and, failing that, killed before any call that can hang (its link's nng_close). What is cut
// short is only releasing what the kernel releases at exit anyway, so a parent or a service
// manager (systemd for `arbor serve`) sees the stop it asked for; the log line says what hung.
// Nullptr, after a warning, when it cannot start.
arbor::ExitWatchdog* ArmExitWatchdog(int lifeline_fd, int exit_code, std::string what,
                                     std::chrono::milliseconds bound) {
  arbor::ExitWatchdog::Options o;
  o.lifeline_fd = lifeline_fd;
  o.end_on_term = true;
  o.exit_code = exit_code;
  arbor::Result<arbor::ExitWatchdog*> w = arbor::ExitWatchdog::Arm(o, std::move(what), bound);
  if (!w.ok()) spdlog::warn("the exit is not bounded: {}", w.status().message());
  return w.ok() ? *w : nullptr;
}

int RunNode(Args& args);

}  // namespace

int main(int argc, char** argv) {
  arbor::Supervisor::BlockChildSignal(/*and_term=*/true);  // before any thread exists
  // Batches and their replies are often a few hundred KB. Above glibc's default threshold each
  // would be a fresh mmap, paid for again in page faults on every message; from the heap they
  // reuse memory already mapped. An idle node allocates none of them, so its memory is the same.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  int status = 0;
  std::optional<Args> args = ParseArgs(argc, argv, status);
  if (!args) return status;
  g_unreported_ready_fd = args->ready_fd;
  try {
    return RunNode(*args);
  } catch (const std::exception& e) {
    // Past the ready report, the node was serving: nothing can be reported any more, and the
    // exit is the parent's to notice, as for any other death.
    if (g_unreported_ready_fd < 0) throw;
    return Fail(g_unreported_ready_fd, e.what());
  }
}

namespace {

int RunNode(Args& parsed) {
  Args* args = &parsed;
  arbor::NodeOptions options = std::move(args->options);
  const int ready_fd = args->ready_fd;
  const std::string config_hex = std::move(args->config_hex);
  auto logger = spdlog::stderr_color_mt("node");
  arbor::InstallEscapingPattern(*logger, fmt::format("[arbor-node {}] [%l] %E", options.id));
  spdlog::set_default_logger(logger);

  // Without a handed-over config (a node run by hand), the built-in defaults apply; they are
  // those of configs/default.yaml.
  arbor::Result<arbor::Config> config = arbor::Config{};
  if (options.config_fd >= 0) config = arbor::ConfigFromFd(options.config_fd);
  if (!config_hex.empty()) config = arbor::ConfigFromHex(config_hex);
  if (!config.ok()) return Fail(ready_fd, config.status().message());
  if (!config->hosts.empty() && !config->Host(options.host)) {
    return Fail(ready_fd, fmt::format("node {}: no host '{}' in the deployment", options.id,
                                      options.host));
  }
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  options.binary = std::filesystem::read_symlink("/proc/self/exe").string();

  arbor::PluginSet plugins = arbor::LoadPluginSet(*config, config->PluginsFor(options.id));
  arbor::Supervisor::Options sup;
  sup.lifeline_fd = options.lifeline_fd;
  sup.orphan_grace = std::chrono::milliseconds(config->orphan_grace_ms);
  sup.stop_on_term = true;
  arbor::Node* node_ptr = nullptr;
  sup.upstream_peers = [&node_ptr] { return node_ptr ? node_ptr->upstream_peers() : 0; };
  sup.on_tick = [&node_ptr](bool cut_off) {
    if (node_ptr) node_ptr->OnTick(cut_off);
  };
  arbor::Supervisor supervisor(sup);
  if (!supervisor.failure().empty()) {
    return Fail(ready_fd, supervisor.failure());
  }
  if (arbor::Status s = ProbeThreads(kNngThreadsProbe); !s.ok()) {
    return Fail(ready_fd, s.message());  // the parent names the node
  }
  std::unique_ptr<arbor::Launcher> launcher = arbor::MakeHostLauncher(*config, options.host);
  arbor::Node node(options, *config, supervisor, *launcher);
  if (arbor::Status s = node.Start(std::move(plugins)); !s.ok()) return Fail(ready_fd, s.message());
  // A node that cannot load or initialise every plugin it is given does not start: serving
  // without one would silently drop a verb (a typo in `plugins: load:` did exactly that).
  if (!node.plugin_errors().empty()) {
    std::string why;
    for (const arbor::Status& e : node.plugin_errors()) {
      why += (why.empty() ? "" : "; ") + e.message();
    }
    // Closing the listener is an exit path too, and the supervisor does not watch the lifeline
    // yet.
    if (ArmExitWatchdog(options.lifeline_fd, 1, "closing", kCloseBound) == nullptr) {
      return Fail(ready_fd, why);  // the kernel closes the listener at exit
    }
    node.Close();
    return Fail(ready_fd, why);
  }
  node_ptr = &node;
  supervisor.OnChildExit([&node](pid_t pid, int status) { node.OnChildExit(pid, status); });
  ReportReady(ready_fd, arbor::ReadyLine(getpid(), node.url()));

  arbor::Supervisor::Exit why = supervisor.Run();
  if (why == arbor::Supervisor::Exit::kLifelineLost) {
    // The controller is gone. Every node sees the same EOF, so nobody waits for anybody.
    std::_Exit(0);
  }
  // arbor.shutdown stopped the children and sent its reply before Run() returned.
  const bool stopped = why == arbor::Supervisor::Exit::kStopped;
  arbor::ExitWatchdog* watchdog =
      ArmExitWatchdog(options.lifeline_fd, 0, stopped ? "closing" : "stopping the children",
                      stopped ? kCloseBound : StopChildrenBound(*config));
  if (why == arbor::Supervisor::Exit::kTerminated) {
    spdlog::info("SIGTERM: stopping the subtree");
    node.StopChildren();
  } else if (why == arbor::Supervisor::Exit::kOrphaned) {
    spdlog::warn("no parent for {} ms; shutting down subtree", config->orphan_grace_ms);
    node.StopChildren();
  }
  // Nothing could bound what is left: skip it. The kernel closes the sockets at exit.
  if (watchdog == nullptr) std::_Exit(0);
  watchdog->Phase("closing", kCloseBound);
  node.Close();
  return 0;  // the destructors, and exit's own work, still run under the watchdog
}

}  // namespace
