#include "headroom.h"

#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

namespace arbor {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  return line;
}

std::optional<long> ReadLong(const std::string& path) {
  std::optional<std::string> line = ReadLine(path);
  if (!line) return std::nullopt;
  try {
    return std::stol(*line);
  } catch (const std::exception&) {
    return std::nullopt;  // "max": no limit
  }
}

long Entries(const std::string& dir) {
  std::error_code ec;
  long n = 0;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    ++n;
  }
  return n;
}

// Every task (thread) on the host: the total after the slash in /proc/loadavg's 4th field,
// which counts the whole machine even inside a pid namespace, as pid_max does.
std::optional<long> HostTasks() {
  std::optional<std::string> line = ReadLine("/proc/loadavg");
  if (!line) return std::nullopt;
  std::istringstream in(*line);
  std::string field;
  for (int i = 0; i < 4 && in >> field; ++i) {
  }
  auto slash = field.find('/');
  if (slash == std::string::npos) return std::nullopt;
  try {
    return std::stol(field.substr(slash + 1));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// "current/max" of this process's pids cgroup (v1 "pids" line, or the v2 unified one), when
// it has a limit.
std::optional<std::string> CgroupPids() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    std::string dir;
    if (controllers == "pids") dir = "/sys/fs/cgroup/pids" + path;
    else if (controllers.empty() && line.rfind("0:", 0) == 0) dir = "/sys/fs/cgroup" + path;
    else continue;
    std::optional<long> max = ReadLong(dir + "/pids.max");
    std::optional<long> current = ReadLong(dir + "/pids.current");
    if (max && current) return fmt::format("{}/{}", *current, *max);
  }
  return std::nullopt;
}

}  // namespace

std::string HeadroomText() {
  std::string text = fmt::format("threads={}", Entries("/proc/self/task"));
  rlimit files{};
  long fds = Entries("/proc/self/fd") - 1;  // less the one the listing itself opened
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    text += fmt::format(" fds={}/{}", fds, static_cast<unsigned long long>(files.rlim_cur));
  }
  std::optional<long> tasks = HostTasks();
  std::optional<long> pid_max = ReadLong("/proc/sys/kernel/pid_max");
  if (tasks) text += fmt::format(" host_tasks={}", *tasks);
  if (pid_max) text += fmt::format(" pid_max={}", *pid_max);
  if (tasks && pid_max) text += fmt::format(" free_pids={}", *pid_max - *tasks);
  if (std::optional<std::string> pids = CgroupPids()) text += " cgroup_pids=" + *pids;
  return text;
}

}  // namespace arbor
