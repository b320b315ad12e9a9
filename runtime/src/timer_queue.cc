#include "arbor/timer_queue.h"

#include "arbor/worker_pool.h"

namespace arbor {

TimerQueue::~TimerQueue() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status TimerQueue::After(Deadline when, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  if (stop_) return Unavailable("shutting down");
  if (!started_) {
    if (Status s = StartThread(thread_, [this] { Loop(); }); !s.ok()) return s;
    started_ = true;
  }
  // Only a timer due before the thread would wake needs it woken; the rest are found then.
  bool earliest = due_.empty() || when + slack_ < due_.begin()->first;
  due_.emplace(when, std::move(fn));
  if (earliest) cv_.notify_one();
  return Status::Ok();
}

void TimerQueue::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (due_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    if (Clock::now() < first->first) {
      cv_.wait_until(lock, first->first + slack_);
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    due_.erase(first);
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace arbor
