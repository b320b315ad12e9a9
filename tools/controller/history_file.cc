#include "history_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace arbor::controller {

std::string DefaultHistoryFile() {
  const char* state = std::getenv("XDG_STATE_HOME");
  if (state != nullptr && state[0] == '/') return fmt::format("{}/arbor/history", state);
  const char* home = std::getenv("HOME");
  if (home == nullptr || home[0] == '\0') return "";
  return fmt::format("{}/.local/state/arbor/history", home);
}

Status MakeHistoryDirectories(const std::string& file) {
  std::filesystem::path dir = std::filesystem::path(file).parent_path();
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return Internal(fmt::format("cannot create {}: {}", partial.string(), std::strerror(errno)));
    }
  }
  return Status::Ok();
}

}  // namespace arbor::controller
