// PingSeries: `ping <id> -c N [-i ms]`, a run of probes to one node, printed as iputils ping
// prints a run of ICMP echoes, so people read it at a glance:
//
//   reply from node 40: seq=1 time=0.213 ms
//   no reply from node 40: seq=2 (node 40 is unavailable)
//   --- node 40 ping statistics ---
//   2 packets transmitted, 1 received, 50% packet loss, time 1002ms
//   rtt min/avg/max/mdev = 0.213/0.213/0.213/0.000 ms
//
// The numbers are computed as iputils computes them (whole microseconds; mdev is the
// population standard deviation, sqrt(mean of squares - square of mean)); the rtt line is left
// out when nothing was received. Thread-safety: none; one series belongs to one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "arbor/message.h"
#include "arbor/status.h"

namespace arbor::controller {

// The bounds `ping -c N -i ms` accepts.
inline constexpr int kMaxPingCount = 10000;
inline constexpr int kMinPingIntervalMs = 10;
inline constexpr int kMaxPingIntervalMs = 60000;
inline constexpr int kDefaultPingIntervalMs = 1000;  // as iputils

class PingSeries {
 public:
  explicit PingSeries(NodeId id) : id_(id) {}

  // Records probe `seq`: answered when `status` is OK, lost otherwise. Returns its line.
  std::string Add(int seq, const Status& status, std::chrono::microseconds rtt);
  // The statistics lines; `elapsed` runs from the first probe sent to the last one answered.
  std::string Summary(std::chrono::milliseconds elapsed) const;

 private:
  NodeId id_;
  std::int64_t transmitted_ = 0;
  std::int64_t received_ = 0;
  std::int64_t min_us_ = 0, max_us_ = 0, sum_us_ = 0, sum2_us_ = 0;
};

// iputils' rendering of one round trip, e.g. "0.213", "1.25", "12.5", "130" (in ms).
std::string FormatRtt(std::chrono::microseconds rtt);

}  // namespace arbor::controller
