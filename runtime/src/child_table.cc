#include "child_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

namespace arbor {

ChildTable::ChildTable(const Config& config, std::string children_file)
    : file_(std::move(children_file)) {
  for (Slot& s : slots_) s.budget = RestartBudget(config);
}

std::shared_ptr<NodeLink> ChildTable::LinkTo(int side, NodeId* id) {
  std::lock_guard lock(mu_);
  const Slot& slot = slots_[side];
  if (!slot.child) return nullptr;
  *id = slot.child->id;
  return slot.child->link;
}

std::vector<ChildReport> ChildTable::Report() {
  std::lock_guard lock(mu_);
  std::vector<ChildReport> out;
  for (const Slot& s : slots_) {
    if (!s.child) continue;
    out.push_back({s.child->id, StateName(s.state), s.restarts, s.child->pid, s.child->host});
  }
  return out;
}

std::vector<std::pair<NodeId, std::shared_ptr<NodeLink>>> ChildTable::Connected() {
  std::lock_guard lock(mu_);
  std::vector<std::pair<NodeId, std::shared_ptr<NodeLink>>> out;
  for (const Slot& s : slots_) {
    if (s.child && s.child->link && s.child->link->connected()) {
      out.emplace_back(s.child->id, s.child->link);
    }
  }
  return out;
}

const char* ChildTable::StateName(State s) {
  switch (s) {
    case State::kUp: return "up";
    case State::kDown: return "down";
    case State::kRestarting: return "restarting";
  }
  return "?";
}

// One line per child: "<id> <host>" (host "-" when the deployment has no hosts).
void ChildTable::SaveLocked() {
  if (file_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file_).parent_path(), ec);
  std::string tmp = file_ + ".tmp";
  std::string text;
  for (const Slot& s : slots_) {
    if (s.child) text += std::to_string(s.child->id) + " " + (s.child->host.empty() ? "-" : s.child->host) + "\n";
  }
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return spdlog::error("cannot write {}: {}", tmp, std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;  // the rename must not publish a file whose data is not there
  ::close(fd);
  if (!ok) return spdlog::error("cannot write {}", tmp);
  std::filesystem::rename(tmp, file_, ec);
}

std::vector<std::pair<NodeId, std::string>> ChildTable::Saved() const {
  std::vector<std::pair<NodeId, std::string>> out;
  if (file_.empty()) return out;
  std::ifstream in(file_);
  for (std::string line; std::getline(in, line) && out.size() < 2;) {
    std::istringstream words(line);
    std::string id_text, host;
    words >> id_text >> host;
    std::optional<NodeId> id = ParseNodeId(id_text);
    if (!id) continue;  // a damaged line: that child is not recovered, the rest are
    out.emplace_back(*id, host == "-" ? "" : host);
  }
  return out;
}

void ChildTable::ForgetSaved() const {
  if (!file_.empty()) std::remove(file_.c_str());
}

}  // namespace arbor
