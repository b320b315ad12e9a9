#include "child_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
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
    if (!s.child) {
      // Saved but not taken back yet: a recovery is on its way (Node::RecoverChild).
      if (s.saved) out.push_back({s.saved->id, StateName(State::kRestarting), s.restarts, -1, s.saved->host});
      continue;
    }
    // Down or restarting, the process the handle names is gone: no pid rather than a stale one.
    std::int64_t pid = s.state == State::kUp ? s.child->pid : -1;
    out.push_back({s.child->id, StateName(s.state), s.restarts, pid, s.child->host});
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

// One line per child: "<id> <host> <pid>" (host "-" when the deployment has no hosts).
void ChildTable::SaveLocked() {
  if (file_.empty()) return;
  std::string text;
  for (const Slot& s : slots_) {
    if (!s.saved) continue;
    text += fmt::format("{} {} {}\n", s.saved->id, s.saved->host.empty() ? "-" : s.saved->host,
                        s.saved->pid);
  }
  if (text == written_) return;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file_).parent_path(), ec);
  std::string tmp = file_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return spdlog::error("cannot write {}: {}", tmp, std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::fsync(fd) == 0 && ok;  // the rename must not publish a file whose data is not there
  ::close(fd);
  if (!ok) return spdlog::error("cannot write {}", tmp);
  std::filesystem::rename(tmp, file_, ec);
  if (!ec) written_ = std::move(text);
}

std::vector<ChildTable::SavedChild> ChildTable::Saved() const {
  std::vector<SavedChild> out;
  if (file_.empty()) return out;
  std::ifstream in(file_);
  for (std::string line; std::getline(in, line) && out.size() < 2;) {
    std::istringstream words(line);
    std::string id_text, host, pid_text;
    words >> id_text >> host >> pid_text;
    std::optional<NodeId> id = ParseNodeId(id_text);
    if (!id) continue;  // a damaged line: that child is not recovered, the rest are
    std::optional<NodeId> pid = ParseNodeId(pid_text);  // absent in files of older versions
    bool plausible = pid && *pid > 0 && *pid <= INT32_MAX;
    out.push_back({*id, host == "-" ? "" : host, plausible ? static_cast<pid_t>(*pid) : -1});
  }
  return out;
}

void ChildTable::ForgetSaved() const {
  if (!file_.empty()) std::remove(file_.c_str());
}

}  // namespace arbor
