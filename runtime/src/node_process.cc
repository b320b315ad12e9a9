#include "arbor/node_process.h"

#include <fstream>
#include <iterator>

namespace arbor {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

bool NodeProcessRuns(pid_t pid, const std::string& session, NodeId id) {
  if (pid <= 0) return false;
  const std::string proc = "/proc/" + std::to_string(pid);
  // The state is the first field after the command name, which ends at the last ')'.
  std::string stat = ReadAll(proc + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] == 'Z')
    return false;
  std::string cmd = ReadAll(proc + "/cmdline");
  auto has = [&](const std::string& flag, const std::string& value) {
    return cmd.find(flag + '\0' + value + '\0') != std::string::npos;
  };
  return has("--session", session) && has("--id", std::to_string(id));
}

}  // namespace arbor
