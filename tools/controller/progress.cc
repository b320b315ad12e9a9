#include "progress.h"

#include <fmt/format.h>

namespace arbor::controller {
namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(100);
constexpr std::size_t kWidth = 20;

}  // namespace

ProgressBar::ProgressBar(std::FILE* out, std::size_t total, Clock::time_point start)
    : out_(out), total_(total), start_(start) {}

std::string ProgressBar::Line(std::size_t done, std::size_t total, Clock::duration elapsed) {
  std::size_t filled = total == 0 ? kWidth : done * kWidth / total;
  std::string bar;
  for (std::size_t i = 0; i < kWidth; ++i) bar += i < filled ? "#" : "\u00b7";
  std::string line = fmt::format("deploying [{}] {}/{} nodes", bar, done, total);
  double seconds = std::chrono::duration<double>(elapsed).count();
  if (done == 0 || seconds <= 0) return line + "  -- nodes/s";
  double rate = done / seconds;
  return line + fmt::format("  {:.1f} nodes/s  {:.1f} s left", rate, (total - done) / rate);
}

void ProgressBar::Update(std::size_t done, Clock::time_point now) {
  if (finished_ || (drawn_ && now - last_draw_ < kRedrawEvery)) return;
  fmt::print(out_, "\r\033[K{}", Line(done, total_, now - start_));
  std::fflush(out_);
  last_draw_ = now;
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!drawn_) return;
  std::fputs("\r\033[K", out_);
  std::fflush(out_);
}

}  // namespace arbor::controller
