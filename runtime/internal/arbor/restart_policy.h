// RestartBudget: the one place where the restart intensity limit lives.
//
// As in Erlang/OTP, a dead node is restarted at most `max_restarts` times within `window`;
// beyond that it stays down, so a node that crashes at start cannot restart in a tight loop.
// Both restarters use it: a node for its children, the controller for the root.
// Thread-safety: none; the owner guards it with the lock that guards the slot it belongs to.
#pragma once

#include <chrono>
#include <deque>

#include "arbor/config.h"
#include "arbor/deadline.h"

namespace arbor {

class RestartBudget {
 public:
  RestartBudget() = default;
  explicit RestartBudget(const Config& c)
      : max_restarts_(c.max_restarts), window_(std::chrono::milliseconds(c.restart_window_ms)) {}

  // Whether the policy restarts at all: `restart: on-failure`.
  static bool Enabled(const Config& c) { return c.restart == Config::Restart::kOnFailure; }

  // True, and counted, when one more restart fits in the window at `now`.
  bool Take(Clock::time_point now = Clock::now()) {
    while (!times_.empty() && now - times_.front() > window_) times_.pop_front();
    if (static_cast<int>(times_.size()) >= max_restarts_) return false;
    times_.push_back(now);
    return true;
  }
  int used() const { return static_cast<int>(times_.size()); }
  void Reset() { times_.clear(); }

 private:
  int max_restarts_ = 3;
  std::chrono::milliseconds window_{10000};
  std::deque<Clock::time_point> times_;  // restarts within the window, oldest first
};

}  // namespace arbor
