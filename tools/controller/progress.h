// ProgressBar: how a deployment of many nodes is coming along, for a person at a terminal:
//
//   deploying [##########··········] 150/300 nodes  212.4 nodes/s  0.7 s left
//
// drawn on one line of stderr and redrawn in place (\r), at most ten times a second however
// fast nodes come up, and erased when done so the REPL starts on a clean screen. The caller
// decides whether to show one at all (stderr a terminal, not batch mode, not --quiet).
// Thread-safety: none; one thread draws.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace arbor::controller {

class ProgressBar {
 public:
  using Clock = std::chrono::steady_clock;

  ProgressBar(std::FILE* out, std::size_t total, Clock::time_point start = Clock::now());
  // Redraws with `done` finished, unless the last redraw was under 100 ms ago.
  void Update(std::size_t done) { Update(done, Clock::now()); }
  // The same at a given time: the seam the tests use instead of sleeping.
  void Update(std::size_t done, Clock::time_point now);
  // Erases the line. Idempotent; the destructor calls it.
  void Finish();
  ~ProgressBar() { Finish(); }

  // The line for `done` of `total` after `elapsed`; public for the tests.
  static std::string Line(std::size_t done, std::size_t total, Clock::duration elapsed);

 private:
  std::FILE* out_;
  std::size_t total_;
  Clock::time_point start_;
  Clock::time_point last_draw_{};
  bool drawn_ = false;
  bool finished_ = false;
};

}  // namespace arbor::controller
