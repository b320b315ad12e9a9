// Fence: the guard that keeps commands to a node in the order they were sent, even when an old
// one arrives late.
//
// A command can reach its node long after its sender gave up on it: it waited in the socket of
// a paused hop (SIGSTOP, a VM stall) or of the paused node itself, and a node counts a budget
// from the moment it reads a message, so it cannot tell. Meanwhile the sender has reported it
// "unavailable" and sent later commands, which may have been acknowledged. Applying the old one
// then would undo an acknowledged write.
//
// So every group of commands carries its place in the sender's order (batch.h: an epoch, the
// sender's incarnation, and the number of its first command; the sender numbers the commands
// to each target 1, 2, 3...). A node admits a group only if it comes after everything it has
// admitted so far, in (epoch, seq) order, and remembers the last number admitted: the
// high-water mark. A group at or below the mark is refused, never run, and answered with why.
// A newer epoch (a new controller) starts a new count.
//
// With a file (the node's data directory), the mark is written there before the group runs,
// so a node restarted after kill -9 still refuses what its previous process would have. The
// write is a pwrite into the page cache, which a process kill cannot lose; it is not fsynced
// (docs/consistency.md says what a power loss can do).
//
// Thread-safety: Admit() may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "arbor/batch.h"
#include "arbor/status.h"

namespace arbor {

class SequenceFence {
 public:
  SequenceFence() = default;
  ~SequenceFence();
  SequenceFence(const SequenceFence&) = delete;
  SequenceFence& operator=(const SequenceFence&) = delete;

  // Keeps the mark in `path` from now on, starting from what it holds (a missing file is a
  // mark of nothing). Not OK when the file cannot be opened or holds something else than a
  // mark; a damaged mark is reported, and the fence starts from nothing.
  Status Open(const std::string& path);

  // Admits the `n` commands numbered from `order.seq` and moves the mark past them, or says why
  // not. An unfenced group (epoch 0) is always admitted and moves nothing. Not OK also when
  // the mark cannot be written (the group does not run: nothing is admitted that a restart
  // could forget).
  Status Admit(const GroupSeq& order, std::uint32_t n, std::int64_t node);

 private:
  Status Write(const GroupSeq& mark);

  std::mutex mu_;
  GroupSeq mark_;  // guarded by mu_
  int fd_ = -1;
};

// A new epoch for a sender: the wall clock in nanoseconds, so that a controller started later
// on the same machine (or one whose clock agrees) comes after the one before it.
std::uint64_t NewEpoch();

}  // namespace arbor
