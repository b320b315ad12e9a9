// TimerQueue: runs callbacks at given moments, on one thread of its own.
//
// A node needs timers only for batches with a straggler (node_batch.cc), which most nodes never
// see, so the thread starts with the first timer rather than with the node: an idle node keeps
// its thread count (and its memory). Callbacks cannot be cancelled; each checks whether it still
// applies, which costs less than cancellation for timers that nearly always find nothing to do.
// A timer may run up to `slack` late: the thread then runs every timer due by the time it wakes,
// so a steady stream of timers (one per batch) costs a wake-up per `slack`, not one each.
// Thread-safety: After() from any thread, callbacks included. The destructor drops the timers
// not yet due and joins the thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "arbor/deadline.h"
#include "arbor/status.h"

namespace arbor {

class TimerQueue {
 public:
  explicit TimerQueue(std::chrono::milliseconds slack) : slack_(slack) {}
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs `fn` at `when` (or soon after). Fails only when the thread cannot start (the host is
  // out of tasks); the caller then does without the timer.
  Status After(Deadline when, std::function<void()> fn);

 private:
  void Loop();

  const std::chrono::milliseconds slack_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<Deadline, std::function<void()>> due_;  // guarded by mu_
  bool stop_ = false;
  bool started_ = false;
  std::thread thread_;
};

}  // namespace arbor
