#include "ping_series.h"

#include <algorithm>

#include <fmt/format.h>

namespace arbor::controller {
namespace {

// iputils' integer square root, so mdev matches its output to the microsecond.
std::int64_t IntSqrt(std::int64_t v) {
  if (v <= 0) return 0;
  std::int64_t r = 0;
  for (std::int64_t bit = std::int64_t{1} << 62; bit > 0; bit >>= 2) {
    if (v >= r + bit) {
      v -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
  }
  return r;
}

std::string Millis(std::int64_t us) { return fmt::format("{}.{:03}", us / 1000, us % 1000); }

}  // namespace

std::string FormatRtt(std::chrono::microseconds rtt) {
  std::int64_t us = rtt.count();
  if (us >= 100000 - 50) return fmt::format("{}", (us + 500) / 1000);
  if (us >= 10000 - 5) return fmt::format("{}.{:01}", (us + 50) / 1000, ((us + 50) % 1000) / 100);
  if (us >= 1000) return fmt::format("{}.{:02}", (us + 5) / 1000, ((us + 5) % 1000) / 10);
  return fmt::format("{}.{:03}", us / 1000, us % 1000);
}

std::string PingSeries::Add(int seq, const Status& status, std::chrono::microseconds rtt) {
  ++transmitted_;
  if (!status.ok()) {
    return fmt::format("no reply from node {}: seq={} ({})", id_, seq, status.message());
  }
  std::int64_t us = rtt.count();
  min_us_ = received_ == 0 ? us : std::min(min_us_, us);
  max_us_ = received_ == 0 ? us : std::max(max_us_, us);
  sum_us_ += us;
  sum2_us_ += us * us;
  ++received_;
  return fmt::format("reply from node {}: seq={} time={} ms", id_, seq, FormatRtt(rtt));
}

std::string PingSeries::Summary(std::chrono::milliseconds elapsed) const {
  std::string out = fmt::format(
      "--- node {} ping statistics ---\n{} packets transmitted, {} received", id_, transmitted_,
      received_);
  if (transmitted_ == 0) return out;  // stopped before its first probe; as iputils
  float loss = float((transmitted_ - received_) * 100.0 / transmitted_);
  out += fmt::format(", {:g}% packet loss, time {}ms", loss, elapsed.count());
  if (received_ == 0) return out;
  std::int64_t avg = sum_us_ / received_;
  // iputils' two forms: the exact one while sum*sum cannot overflow, else the cheap one.
  std::int64_t variance = sum_us_ < INT32_MAX
                              ? (sum2_us_ - sum_us_ * sum_us_ / received_) / received_
                              : sum2_us_ / received_ - avg * avg;
  std::int64_t mdev = IntSqrt(variance);
  return out + fmt::format("\nrtt min/avg/max/mdev = {}/{}/{}/{} ms", Millis(min_us_), Millis(avg),
                           Millis(max_us_), Millis(mdev));
}

}  // namespace arbor::controller
