// Deadline: the absolute moment a request must be answered by, on the local monotonic clock.
// Requests carry a remaining budget on the wire (see message.h); each hop converts it to a
// Deadline on receipt. Thread-safety: plain values and pure functions.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace arbor {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline DeadlineIn(std::chrono::milliseconds budget) { return Clock::now() + budget; }

// Milliseconds left before `d`, at least 0 and at most UINT32_MAX.
inline std::uint32_t RemainingMs(Deadline d) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(d - Clock::now()).count();
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(left, 0, UINT32_MAX));
}

}  // namespace arbor
