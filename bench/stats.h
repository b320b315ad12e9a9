// Latency samples and the figures the benchmark reports from them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace arbor::bench {

using Clock = std::chrono::steady_clock;

struct Figures {
  double p50_us = 0;
  double p99_us = 0;
  double ops_per_s = 0;
  std::size_t count = 0;
};

// `samples` in microseconds; `wall` the time the whole run took.
Figures Summarise(std::vector<double> samples, Clock::duration wall);

// One JSON object on one line, for bench/run.sh: {"bench": name, <fields>, p50_us...}.
void Emit(const std::string& bench, const std::vector<std::pair<std::string, std::string>>& fields,
          const Figures& f);
void EmitRaw(const std::string& bench, const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace arbor::bench
