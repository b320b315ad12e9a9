// ping -c output: iputils' formats and arithmetic, checked against numbers worked by hand.
#include <catch2/catch.hpp>

#include "ping_series.h"

namespace arbor::controller {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST_CASE("ping series: round trips print with iputils' precision") {
  CHECK(FormatRtt(microseconds(213)) == "0.213");
  CHECK(FormatRtt(microseconds(7)) == "0.007");
  CHECK(FormatRtt(microseconds(1254)) == "1.25");
  CHECK(FormatRtt(microseconds(1255)) == "1.26");
  CHECK(FormatRtt(microseconds(12549)) == "12.5");
  CHECK(FormatRtt(microseconds(99949)) == "99.9");
  CHECK(FormatRtt(microseconds(99950)) == "100");
  CHECK(FormatRtt(microseconds(1234567)) == "1235");
}

TEST_CASE("ping series: every probe answered") {
  PingSeries s(40);
  CHECK(s.Add(1, Status::Ok(), microseconds(100)) == "reply from node 40: seq=1 time=0.100 ms");
  CHECK(s.Add(2, Status::Ok(), microseconds(200)) == "reply from node 40: seq=2 time=0.200 ms");
  CHECK(s.Add(3, Status::Ok(), microseconds(600)) == "reply from node 40: seq=3 time=0.600 ms");
  // avg 300 us; variance (100^2 + 200^2 + 600^2) / 3 - 300^2 = 46666; sqrt = 216.
  CHECK(s.Summary(milliseconds(2004)) ==
        "--- node 40 ping statistics ---\n"
        "3 packets transmitted, 3 received, 0% packet loss, time 2004ms\n"
        "rtt min/avg/max/mdev = 0.100/0.300/0.600/0.216 ms");
}

TEST_CASE("ping series: lost probes, and no rtt line when nothing came back") {
  PingSeries some(-7);
  CHECK(some.Add(1, Unavailable("node -7 is unavailable"), microseconds(30)) ==
        "no reply from node -7: seq=1 (node -7 is unavailable)");
  some.Add(2, Status::Ok(), microseconds(1500));
  some.Add(3, Unavailable("x"), microseconds(10));
  CHECK(some.Summary(milliseconds(21)) ==
        "--- node -7 ping statistics ---\n"
        "3 packets transmitted, 1 received, 66.6667% packet loss, time 21ms\n"
        "rtt min/avg/max/mdev = 1.500/1.500/1.500/0.000 ms");

  PingSeries none(5);
  none.Add(1, Unavailable("x"), microseconds(10));
  none.Add(2, Unavailable("x"), microseconds(10));
  CHECK(none.Summary(milliseconds(12)) ==
        "--- node 5 ping statistics ---\n"
        "2 packets transmitted, 0 received, 100% packet loss, time 12ms");
}

TEST_CASE("ping series: stopped before its first probe, the summary is two counts") {
  PingSeries none(3);
  CHECK(none.Summary(milliseconds(0)) ==
        "--- node 3 ping statistics ---\n0 packets transmitted, 0 received");
}

}  // namespace
}  // namespace arbor::controller
