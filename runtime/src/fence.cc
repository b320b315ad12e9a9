#include "arbor/fence.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace arbor {
namespace {

// The file: u64 magic, u64 epoch, u64 seq, u64 check. 32 bytes written at offset 0 with one
// pwrite, so a process kill leaves either the old mark or the new one.
constexpr std::uint64_t kMagic = 0x3145434e45464241;  // "ABFENCE1"
constexpr std::size_t kFileBytes = 32;
constexpr std::uint64_t kMaxClockAheadNs = 24ULL * 3600 * 1000000000;

std::uint64_t Check(const GroupSeq& m) {
  // Enough to tell a mark from a torn or foreign file; not a defence against an attacker.
  std::uint64_t h = kMagic;
  for (std::uint64_t v : {m.epoch, m.seq}) h = (h ^ v) * 0x100000001b3ULL;
  return h;
}

bool Before(const GroupSeq& a, const GroupSeq& b) {
  return a.epoch < b.epoch || (a.epoch == b.epoch && a.seq < b.seq);
}

}  // namespace

SequenceFence::~SequenceFence() {
  if (fd_ >= 0) ::close(fd_);
}

Status SequenceFence::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Internal(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  std::uint64_t words[4] = {};
  ssize_t n = ::pread(fd, words, sizeof words, 0);
  std::lock_guard lock(mu_);
  fd_ = fd;
  if (n == 0) return Status::Ok();  // a new file: nothing admitted yet
  GroupSeq mark{words[1], words[2]};
  if (n != static_cast<ssize_t>(kFileBytes) || words[0] != kMagic || words[3] != Check(mark)) {
    return FailedPrecondition(
        fmt::format("{} holds no valid sequence mark; starting from none", path));
  }
  mark_ = mark;
  return Status::Ok();
}

Status SequenceFence::Admit(const GroupSeq& order, std::uint32_t n, std::int64_t node) {
  if (order.epoch == 0) return Status::Ok();
  // An epoch is a start time. One far ahead of this host's clock is no controller's: admitted,
  // it would outrank every real controller for good (the mark is kept on disk).
  if (order.epoch > NewEpoch() + kMaxClockAheadNs) {
    return InvalidArgument(
        fmt::format("command refused: its epoch {} is more than a day ahead of node {}'s clock",
                    order.epoch, node));
  }
  std::lock_guard lock(mu_);
  if (!Before(mark_, order)) {
    return FailedPrecondition(fmt::format(
        "stale command refused: node {} has already run a later one (command {} of epoch {}, "
        "last admitted {} of epoch {})",
        node, order.seq, order.epoch, mark_.seq, mark_.epoch));
  }
  GroupSeq next{order.epoch, order.seq + n - 1};
  if (Status s = Write(next); !s.ok()) return s;
  mark_ = next;
  return Status::Ok();
}

Status SequenceFence::Write(const GroupSeq& mark) {
  if (fd_ < 0) return Status::Ok();
  const std::uint64_t words[4] = {kMagic, mark.epoch, mark.seq, Check(mark)};
  if (::pwrite(fd_, words, sizeof words, 0) == static_cast<ssize_t>(sizeof words)) {
    return Status::Ok();
  }
  return Internal(fmt::format("cannot record the sequence mark: {}", std::strerror(errno)));
}

std::uint64_t NewEpoch() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  return ns > 0 ? static_cast<std::uint64_t>(ns) : 1;
}

}  // namespace arbor
