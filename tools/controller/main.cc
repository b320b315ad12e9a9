// arbor: the controller. Starts a deployment (the embedded default, or --config FILE), then
// reads commands: a REPL when stdin is a terminal, batch mode otherwise.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "arbor/config.h"
#include "arbor/config_handoff.h"
#include "arbor/escape.h"
#include "arbor/exit_watchdog.h"
#include "arbor/plugin_loader.h"
#include "arbor/supervisor.h"
#include "deployment.h"
#include "format.h"
#include "frontend.h"
#include "history_file.h"
#include "progress.h"
#include "scheduler.h"

namespace fs = std::filesystem;
using namespace arbor;
using namespace arbor::controller;

namespace {

// The verbs of every plugin any node of this deployment loads, read from the libraries'
// descriptors. The controller never makes a plugin instance: data stays on the nodes. A plugin
// that cannot be found or loaded is an error (printed, nullopt): carrying on without it would
// silently remove its verbs from every node.
std::optional<VerbCatalog> LoadCatalog(const Config& config) {
  std::vector<PluginSpec> specs = config.plugins;
  for (const NodeSpec& n : config.nodes) {
    if (!n.plugins) continue;
    for (const PluginSpec& p : *n.plugins) {
      bool seen = false;
      for (const PluginSpec& q : specs) seen |= q.name == p.name;
      if (!seen) specs.push_back(p);
    }
  }
  PluginSet set = LoadPluginSet(config, specs);
  for (const Status& e : set.errors) {
    fmt::print(stderr, "arbor: {}: {}\n", Escape(config.source), Escape(e.message()));
  }
  if (!set.errors.empty()) return std::nullopt;
  VerbCatalog verbs;
  for (const LoadedPlugin& p : set.plugins) {
    for (const VerbInfo& v : p.verbs()) {
      if (IsBuiltin(v.name) && v.name != "ping") {
        spdlog::warn("plugin '{}' verb '{}' is shadowed by the builtin command", p.name(), v.name);
      }
      verbs[v.name] = v;
    }
  }
  return verbs;
}

// `arbor serve`: one node of a deployment, run by a supervisor (systemd, a Kubernetes pod)
// rather than by its parent. The file is validated here, as the controller validates it, and
// handed to arbor-node exactly as a parent hands it over (config_handoff.h); arbor-node then
// replaces this process, so the supervisor watches the node itself. The node listens at its
// host's address and waits for its parent to attach it.
int Serve(const std::string& config_path, NodeId id, std::string host, const fs::path& node) {
  Result<Config> config = LoadConfigFile(config_path);
  if (!config.ok()) {
    fmt::print(stderr, "arbor serve: {}\n", config.status().message());
    return 2;
  }
  if (config->hosts.empty()) {
    fmt::print(stderr, "arbor serve: {} lists no hosts; serve runs a node of a multi-host "
                       "deployment\n", config_path);
    return 2;
  }
  if (host.empty()) host = config->HostOf(id);
  if (char name[256] = {}; host.empty() && gethostname(name, sizeof name - 1) == 0) {
    if (config->Host(name)) host = name;
  }
  if (!config->Host(host)) {
    fmt::print(stderr, "arbor serve: node {} has no host: name it under nodes: in {}, pass "
                       "--host, or run on a machine whose hostname is a host's name\n", id,
               config_path);
    return 2;
  }
  if (Status s = CheckTlsReadable(config->TlsFor(host)); !s.ok()) {
    fmt::print(stderr, "arbor serve: host {}: {}\n", host, s.message());
    return 2;
  }
  if (!config->PortFor(id)) {
    fmt::print(stderr, "arbor serve: node {} would listen on port {} + {}, outside 1-65535\n",
               id, config->port_base, id);
    return 2;
  }
  Result<int> fd = ConfigToFd(*config);
  if (!fd.ok()) {
    fmt::print(stderr, "arbor serve: {}\n", fd.status().message());
    return 1;
  }
  fcntl(*fd, F_SETFD, 0);  // the one descriptor exec hands over
  std::vector<std::string> args = {node.string(), "--id", std::to_string(id), "--session",
                                   "serve", "--host", host, "--config-fd", std::to_string(*fd),
                                   "--external"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  fmt::print(stderr, "arbor serve: cannot run {}: {}\n", node.string(), std::strerror(errno));
  return 1;
}

// Counts finished creates; the deploy loop waits on it with a timeout, to redraw its bar.
class Countdown {
 public:
  explicit Countdown(std::size_t total) : total_(total) {}
  void Tick() {
    std::lock_guard lock(mu_);
    ++done_;
    cv_.notify_all();
  }
  // How many have finished, after waiting up to `timeout` for all of them.
  std::size_t WaitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return done_ == total_; });
    return done_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t done_ = 0;
  const std::size_t total_;
};

// Bounds the controller's exit once it has decided to exit (exit, end of input, a failed
// start), so a library call that blocks (nng_close with TLS pipes open was seen to hang for
// minutes) cannot keep it, or the tree, alive. Stopping the tree takes at most request_ms + 3 s
// for the root (Deployment::Shutdown: the request, 1 s to exit, 2 s after SIGKILL) and 2 s for
// the orphans, plus a second of margin; then the destructors and exit's own work get 1 s
// (kExitBound). When a bound passes, the controller kills every process it started (it is the
// tree's subreaper, so the orphans of dead nodes are its children too; a node on an ssh host
// ends with its session) and exits with the status it had decided on: the commands' outcome is
// what a script reads, and it is known by then. Nullptr, after a warning, when it cannot start.
constexpr std::chrono::milliseconds kExitBound{1000};

ExitWatchdog* ArmExitWatchdog(const Config& config, int rc) {
  using namespace std::chrono_literals;
  ExitWatchdog::Options o;
  o.exit_code = rc;
  o.on_expiry = KillOwnChildren;
  auto bound = std::chrono::milliseconds(config.request_ms) + 3s + 2s + 1s;
  Result<ExitWatchdog*> w = ExitWatchdog::Arm(std::move(o), "stopping the tree", bound);
  if (!w.ok()) spdlog::warn("the exit is not bounded: {}", w.status().message());
  return w.ok() ? *w : nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  Supervisor::BlockChildSignal();  // before any thread exists

  std::string config_path;
  bool keep_going = false;
  std::string mode = "auto";
  std::string history = DefaultHistoryFile();
  bool json = false;
  bool quiet = false;
  CLI::App app{"arbor: a tree of plugin-driven compute nodes, and its controller"};
  app.add_option("-c,--config", config_path, "deployment YAML (default: the embedded default)")
      ->check(CLI::ExistingFile);
  app.add_flag("--keep-going", keep_going,
               "batch mode: exit 0 even when some commands printed an error");
  app.add_option("--mode", mode, "auto (REPL on a terminal, else batch), repl or batch")
      ->check(CLI::IsMember({"auto", "repl", "batch"}));
  app.add_option("--history", history,
                 "REPL history file (default: $XDG_STATE_HOME/arbor/history, else "
                 "~/.local/state/arbor/history; '' disables it)");
  app.add_flag("--json", json,
               "print one JSON object per command (command, ok, id, result or error, time_ms)");
  app.add_flag("-q,--quiet", quiet, "no progress bar while the config's nodes start");
  app.set_version_flag("--version", "arbor 0.1.0");
  std::string serve_config, serve_host;
  NodeId serve_id = 0;
  CLI::App* serve = app.add_subcommand(
      "serve", "run one node of a multi-host deployment under a supervisor (systemd, Kubernetes)");
  serve->add_option("-c,--config", serve_config, "the deployment YAML")->required()
      ->check(CLI::ExistingFile);
  serve->add_option("--id", serve_id, "the node id")->required();
  serve->add_option("--host", serve_host,
                    "the host it runs on (default: its nodes: entry, else this hostname)");
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("arbor");
  InstallEscapingPattern(*logger, "arbor: [%l] %E");  // log lines quote input: escape them
  spdlog::set_default_logger(logger);

  if (!config_path.empty()) config_path = fs::absolute(config_path).lexically_normal().string();
  Result<Config> config = config_path.empty() ? LoadDefaultConfig() : LoadConfigFile(config_path);
  if (!config.ok()) {
    fmt::print(stderr, "arbor: {}\n", config.status().message());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  if (Status s = CheckTlsReadable(config->tls); !s.ok() && !*serve) {
    fmt::print(stderr, "arbor: {}: {}\n", config->source, s.message());
    return 2;
  }

  fs::path node_binary = fs::read_symlink("/proc/self/exe").parent_path() / "arbor-node";
  if (!fs::exists(node_binary)) {
    fmt::print(stderr, "arbor: {} not found; it must sit beside arbor\n", node_binary.string());
    return 2;
  }
  if (*serve) return Serve(serve_config, serve_id, serve_host, node_binary);
  std::optional<VerbCatalog> catalog = LoadCatalog(*config);
  if (!catalog) return 2;
  VerbCatalog& verbs = *catalog;
  Deployment deployment(*config, node_binary.string());
  if (!deployment.failure().empty()) {
    fmt::print(stderr, "arbor: cannot start: {}\n", deployment.failure());
    return 1;
  }
  bool interactive = mode == "repl" || (mode == "auto" && isatty(STDIN_FILENO));
  FrontendOptions options{!keep_going, history, json,
                          [&deployment] { return deployment.Ids(); }};
  int rc = 1;
  ExitWatchdog* watchdog = nullptr;
  {
    Scheduler scheduler(deployment, verbs);
    // Pictures only for a person at a terminal; a script (or --json) keeps the SPEC lines.
    const char* no_colour = std::getenv("NO_COLOR");  // no-color.org
    scheduler.DrawTrees(!json && isatty(STDOUT_FILENO), no_colour == nullptr || !*no_colour);
    // The YAML's nodes start as `create` lines would: in parallel wherever they land in
    // different places, and in the tree that the listed order builds.
    std::vector<Outcome> created(config->nodes.size());
    Countdown finished(created.size());
    for (std::size_t i = 0; i < config->nodes.size(); ++i) {
      Command c;
      c.kind = CommandKind::kCreate;
      c.id = config->nodes[i].id;
      scheduler.Submit(std::move(c), [&created, &finished, i](Outcome o) {
        created[i] = std::move(o);
        finished.Tick();
      });
    }
    // A bar only for a person watching: never in batch mode, and never into a file or pipe.
    if (interactive && !quiet && isatty(STDERR_FILENO) && !created.empty()) {
      ProgressBar bar(stderr, created.size());
      for (std::size_t done = 0; done < created.size();) {
        bar.Update(done);
        done = finished.WaitFor(std::chrono::milliseconds(100));
      }
    }
    scheduler.Drain();
    bool started = true;
    for (std::size_t i = 0; i < created.size() && started; ++i) {
      started = created[i].ok;
      if (!started) {
        fmt::print(stderr, "arbor: {}: cannot create node {}: {}\n", config->source,
                   config->nodes[i].id, PlainLine(created[i]));
      }
    }
    if (started) {
      rc = interactive ? RunRepl(scheduler, verbs, options) : RunBatch(scheduler, verbs, options);
    }
    watchdog = ArmExitWatchdog(*config, rc);
  }
  deployment.Shutdown();
  if (watchdog != nullptr) watchdog->Phase("exiting", kExitBound);
  return rc;
}
