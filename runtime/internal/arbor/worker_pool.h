// WorkerPool: a few threads for work that may block (blocking verbs, starting and stopping
// children), so it never runs on an nng I/O thread. Tasks run in FIFO order per pool, on any of
// its threads.
//
// Threads start on demand, up to `max_threads`: one starts when a task arrives and every thread
// is busy. An idle node of a big tree then holds no thread it never uses, and a host's task
// limit (pids) goes to nodes rather than to idle pools. Starting a thread can fail (the host or
// the cgroup is out of tasks, or memory): a pool that already has a thread queues the task
// behind the others; a pool with none refuses it with an error. Reserve() starts threads up
// front, for work that must still run when no new thread can start (stopping a subtree).
//
// Thread-safety: Post() from any thread; the destructor drains and joins.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "arbor/status.h"

namespace arbor {

// Starts a thread running `fn` into `out`; an error instead of std::system_error when the
// system has no thread to give (EAGAIN: tasks, memory).
template <typename Fn>
Status StartThread(std::thread& out, Fn&& fn) {
  try {
    out = std::thread(std::forward<Fn>(fn));
    return Status::Ok();
  } catch (const std::exception& e) {
    return Internal(std::string("cannot start a thread: ") + e.what());
  }
}

class WorkerPool {
 public:
  explicit WorkerPool(int max_threads) : max_threads_(max_threads) {}
  ~WorkerPool() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts threads until the pool has `n` (at most max_threads); the error of the first that
  // cannot start.
  [[nodiscard]] Status Reserve(int n) {
    std::lock_guard lock(mu_);
    while (static_cast<int>(threads_.size()) < std::min(n, max_threads_)) {
      if (Status s = AddThreadLocked(); !s.ok()) return s;
    }
    return Status::Ok();
  }

  // Queues `task`. Fails, without queuing it, only when the pool has no thread and none can
  // start: the caller answers with that error instead of waiting forever.
  [[nodiscard]] Status Post(std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(task));
      if (tasks_.size() > idle_ && static_cast<int>(threads_.size()) < max_threads_) {
        Status s = AddThreadLocked();
        if (!s.ok() && threads_.empty()) {
          tasks_.pop_back();
          return s;
        }
        // Otherwise the task waits for a thread that exists: slower, but it runs.
      }
    }
    cv_.notify_one();
    return Status::Ok();
  }

  int threads() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(threads_.size());
  }

 private:
  Status AddThreadLocked() {
    // Room first: once the thread runs, nothing may fail before it is stored to be joined.
    try {
      threads_.reserve(threads_.size() + 1);
    } catch (const std::exception& e) {
      return Internal(std::string("cannot start a thread: ") + e.what());
    }
    std::thread t;
    if (Status s = StartThread(t, [this] { Loop(); }); !s.ok()) return s;
    threads_.push_back(std::move(t));
    return Status::Ok();
  }

  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        ++idle_;
        cv_.wait(lock, [&] { return done_ || !tasks_.empty(); });
        --idle_;
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  const int max_threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;  // threads waiting for a task
  bool done_ = false;
};

}  // namespace arbor
