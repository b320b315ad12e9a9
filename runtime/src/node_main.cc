// arbor-node: one compute node. Started by its parent (a node, or the controller for the root)
// through the Spawner; not meant to be run by hand, though it can be for debugging:
//   arbor-node --id 5 --session dbg --ready-fd 1
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "arbor/config.h"
#include "arbor/plugin_loader.h"
#include "arbor/spawner.h"
#include "arbor/supervisor.h"
#include "node.h"

namespace {

// Tells the parent how the start went, on the ready pipe; then closes it so the parent's read
// ends. Newlines in `text` would split the protocol line, so they become spaces.
void ReportReady(int fd, const std::string& word, std::string text) {
  if (fd < 0) return;
  for (char& c : text) c = (c == '\n') ? ' ' : c;
  std::string line = word + " " + text + "\n";
  [[maybe_unused]] ssize_t n = write(fd, line.data(), line.size());
  close(fd);
}

int Fail(int ready_fd, const std::string& message) {
  spdlog::error("{}", message);
  ReportReady(ready_fd, "error", message);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  arbor::Supervisor::BlockChildSignal();  // before any thread exists
  arbor::NodeOptions options;
  int ready_fd = -1;
  CLI::App app{"arbor compute node (started by the arbor controller)"};
  app.add_option("--id", options.id, "node id")->required();
  app.add_option("--session", options.session, "deployment session name")->required();
  app.add_option("--config", options.config_path, "deployment YAML (default: embedded)");
  app.add_option("--ready-fd", ready_fd, "write 'ok <url>' or 'error <msg>' here once started");
  app.add_option("--lifeline-fd", options.lifeline_fd, "exit when this pipe reports EOF");
  arbor::NodeId parent_id = 0;
  auto* parent = app.add_option("--parent-id", parent_id, "parent node, to ask for re-adoption");
  app.add_flag("--respawn", options.respawn, "started again after dying: recover the children");
  CLI11_PARSE(app, argc, argv);

  if (*parent) options.parent_id = parent_id;
  auto logger = spdlog::stderr_color_mt("node");
  logger->set_pattern(fmt::format("[arbor-node {}] [%l] %v", options.id));
  spdlog::set_default_logger(logger);

  auto config = options.config_path.empty() ? arbor::LoadDefaultConfig()
                                            : arbor::LoadConfigFile(options.config_path);
  if (!config.ok()) return Fail(ready_fd, config.status().message());
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  options.binary = std::filesystem::read_symlink("/proc/self/exe").string();

  arbor::PluginSet plugins = arbor::LoadPluginSet(*config, config->PluginsFor(options.id));
  arbor::Supervisor::Options sup;
  sup.lifeline_fd = options.lifeline_fd;
  sup.orphan_grace = std::chrono::milliseconds(config->orphan_grace_ms);
  arbor::Node* node_ptr = nullptr;
  sup.upstream_peers = [&node_ptr] { return node_ptr ? node_ptr->upstream_peers() : 0; };
  sup.on_tick = [&node_ptr](bool cut_off) {
    if (node_ptr) node_ptr->OnTick(cut_off);
  };
  arbor::Supervisor supervisor(sup);
  arbor::Node node(options, *config, supervisor, arbor::DefaultSpawner());
  if (arbor::Status s = node.Start(std::move(plugins)); !s.ok()) return Fail(ready_fd, s.message());
  for (const arbor::Status& e : node.plugin_errors()) spdlog::error("{}", e.message());
  node_ptr = &node;
  supervisor.OnChildExit([&node](pid_t pid, int status) { node.OnChildExit(pid, status); });
  ReportReady(ready_fd, "ok", node.url());

  switch (supervisor.Run()) {
    case arbor::Supervisor::Exit::kStopped:
      break;  // arbor.shutdown: the children are already stopped and the reply sent
    case arbor::Supervisor::Exit::kLifelineLost:
      // The controller is gone. Every node sees the same EOF, so nobody waits for anybody.
      std::_Exit(0);
    case arbor::Supervisor::Exit::kOrphaned:
      spdlog::warn("no parent for {} ms; shutting down subtree", config->orphan_grace_ms);
      node.StopChildren();
      break;
  }
  node.Close();
  return 0;
}
