// arbor-plugin-check: the plugin conformance checks, for any plugin author.
//
//   arbor-plugin-check path/to/libarbor_foo.so [-o key=value ...] [--max-inline-ms 20]
//
// Loads the plugin exactly as a node does (plugin_loader.h) and drives it the way a node does
// (the node's Dispatcher), then reports each check as PASS or FAIL with the reason and the call
// that broke it. Each check runs in its own child process with its own instance and a time
// limit, so a handler that crashes or hangs fails that check with the signal or the timeout
// and the remaining checks still run. Exit status: 0 all passed, 1 a check failed, 2 the plugin
// could not be loaded or created, or bad usage.
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "checks.h"

namespace fs = std::filesystem;
using arbor::Result;
using namespace arbor::plugin_check;

namespace {

// Where a check child writes the call it is making, so that a crash can name it.
struct SharedNote {
  char text[512];
};

// Runs `check` in a child process; returns its problems, or one problem for a crash or a hang.
std::vector<std::string> RunIsolated(const Check& check, const Target& target, SharedNote* note,
                                     std::chrono::seconds limit) {
  int out[2];
  if (pipe(out) != 0) return {fmt::format("cannot create a pipe: {}", std::strerror(errno))};
  note->text[0] = '\0';
  pid_t pid = fork();  // no threads exist yet in this process: the child may do anything
  if (pid < 0) return {fmt::format("cannot fork: {}", std::strerror(errno))};
  if (pid == 0) {
    close(out[0]);
    std::vector<std::string> problems =
        check.run(target, [note](const std::string& call) {
          std::snprintf(note->text, sizeof note->text, "%s", call.c_str());
        });
    std::string all;
    for (const std::string& p : problems) all += p + '\n';
    for (std::size_t off = 0; off < all.size();) {
      ssize_t n = write(out[1], all.data() + off, all.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    _exit(0);
  }
  close(out[1]);
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + limit;
  bool timed_out = false;
  int status = 0;
  for (;;) {
    // Drain as we go so a child with much to say never blocks on a full pipe.
    char buf[4096];
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(out[0], &fds);
    timeval tv{0, 50000};
    if (select(out[0] + 1, &fds, nullptr, nullptr, &tv) > 0) {
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n > 0) text.append(buf, static_cast<std::size_t>(n));
    }
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      timed_out = true;
      break;
    }
  }
  for (char buf[4096]; ;) {
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  close(out[0]);
  std::vector<std::string> problems;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find('\n', start);
    problems.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::string during = note->text[0] ? fmt::format(" during {}", note->text) : "";
  if (timed_out) {
    problems.push_back(fmt::format("no answer within {} s{}: a handler hangs", limit.count(),
                                   during));
  } else if (WIFSIGNALED(status)) {
    problems.push_back(fmt::format("the plugin crashed with signal {} ({}){}", WTERMSIG(status),
                                   strsignal(WTERMSIG(status)), during));
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    problems.push_back(fmt::format("the plugin exited the process (status {}){}",
                                   WEXITSTATUS(status), during));
  }
  return problems;
}

// The same problem found by many calls is reported once, with its count.
std::vector<std::string> Collapse(std::vector<std::string> problems) {
  std::vector<std::string> order;
  std::map<std::string, int> count;
  for (std::string& p : problems) {
    if (count[p]++ == 0) order.push_back(std::move(p));
  }
  for (std::string& p : order) {
    if (int n = count[p]; n > 1) p += fmt::format(" (x{})", n);
  }
  return order;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  std::vector<std::string> option_args;
  int max_inline_ms = 20;
  int limit_s = 30;
  CLI::App app{"arbor-plugin-check: run the plugin conformance checks on an arbor plugin"};
  app.add_option("plugin", path, "the plugin library (libarbor_<name>.so)")->required();
  app.add_option("-o,--option", option_args,
                 "an option for the plugin, as its `options:` map in a config would give it")
      ->type_name("KEY=VALUE");
  app.add_option("--max-inline-ms", max_inline_ms,
                 "the longest a verb not marked blocking may take per call")
      ->check(CLI::Range(1, 10000));
  app.add_option("--timeout", limit_s, "seconds each check may take")->check(CLI::Range(1, 3600));
  CLI11_PARSE(app, argc, argv);

  Target target;
  target.path = fs::absolute(path).lexically_normal().string();
  target.max_inline = std::chrono::milliseconds(max_inline_ms);
  for (const std::string& kv : option_args) {
    std::size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      fmt::print(stderr, "arbor-plugin-check: option '{}' is not KEY=VALUE\n", kv);
      return 2;
    }
    target.options[kv.substr(0, eq)] = kv.substr(eq + 1);
  }

  // A fresh directory for plugins that keep state (PluginContext::data_dir), removed at the end.
  std::string data_dir = (fs::temp_directory_path() / "arbor-plugin-check.XXXXXX").string();
  if (mkdtemp(data_dir.data()) == nullptr) {
    fmt::print(stderr, "arbor-plugin-check: cannot create {}: {}\n", data_dir,
               std::strerror(errno));
    return 2;
  }
  target.data_dir = data_dir;
  struct RemoveOnExit {
    std::string dir;
    ~RemoveOnExit() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } cleanup{data_dir};

  fmt::print("arbor-plugin-check: {}\n", target.path);
  // Load and create once here, so that a plugin that cannot even start is reported once, plainly.
  Result<Summary> summary = Describe(target);
  if (!summary.ok()) {
    fmt::print("FAIL  load and create\n      {}\n", summary.status().message());
    return 2;
  }
  fmt::print("      {}\n", summary->text);

  void* shared = mmap(nullptr, sizeof(SharedNote), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) {
    fmt::print(stderr, "arbor-plugin-check: mmap: {}\n", std::strerror(errno));
    return 2;
  }
  auto* note = static_cast<SharedNote*>(shared);
  int failed = 0;
  const std::vector<Check>& checks = AllChecks();
  for (const Check& check : checks) {
    std::vector<std::string> problems =
        RunIsolated(check, target, note, std::chrono::seconds(limit_s));
    problems = Collapse(std::move(problems));
    fmt::print("{}  {}\n", problems.empty() ? "PASS" : "FAIL", check.title);
    constexpr std::size_t kShown = 5;
    for (std::size_t i = 0; i < problems.size() && i < kShown; ++i) {
      fmt::print("      {}\n", problems[i]);
    }
    if (problems.size() > kShown) fmt::print("      ... and {} more\n", problems.size() - kShown);
    failed += problems.empty() ? 0 : 1;
  }
  if (failed == 0) {
    fmt::print("all {} checks passed\n", checks.size());
    return 0;
  }
  fmt::print("{} of {} checks failed\n", failed, checks.size());
  return 1;
}
