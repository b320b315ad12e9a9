#include "stats.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace arbor::bench {

Figures Summarise(std::vector<double> s, Clock::duration wall) {
  Figures f;
  f.count = s.size();
  if (s.empty()) return f;
  std::sort(s.begin(), s.end());
  f.p50_us = s[s.size() / 2];
  f.p99_us = s[std::min(s.size() - 1, s.size() * 99 / 100)];
  f.ops_per_s = s.size() / std::chrono::duration<double>(wall).count();
  return f;
}

void EmitRaw(const std::string& bench,
             const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out = fmt::format("{{\"bench\": \"{}\"", bench);
  for (const auto& [k, v] : fields) out += fmt::format(", \"{}\": {}", k, v);
  out += "}\n";
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

void Emit(const std::string& bench, const std::vector<std::pair<std::string, std::string>>& fields,
          const Figures& f) {
  auto all = fields;
  all.push_back({"p50_us", fmt::format("{:.1f}", f.p50_us)});
  all.push_back({"p99_us", fmt::format("{:.1f}", f.p99_us)});
  all.push_back({"ops_per_s", fmt::format("{:.0f}", f.ops_per_s)});
  all.push_back({"count", std::to_string(f.count)});
  EmitRaw(bench, all);
}

}  // namespace arbor::bench
