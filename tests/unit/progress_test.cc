// The deploy progress bar's line: counts, rate and time left.
#include <cstdio>

#include <catch2/catch.hpp>

#include "progress.h"

namespace arbor::controller {
namespace {

using namespace std::chrono_literals;

TEST_CASE("progress: the line shows count, rate and time left") {
  const std::string dots = "\u00b7\u00b7\u00b7\u00b7\u00b7\u00b7\u00b7\u00b7\u00b7\u00b7";
  CHECK(ProgressBar::Line(0, 30, 0s) == "deploying [" + dots + dots + "] 0/30 nodes  -- nodes/s");
  // 15 nodes in 0.5 s: 30 nodes/s, 15 left take 0.5 s.
  CHECK(ProgressBar::Line(15, 30, 500ms) ==
        "deploying [##########" + dots + "] 15/30 nodes  30.0 nodes/s  0.5 s left");
  CHECK(ProgressBar::Line(30, 30, 2s) ==
        "deploying [####################] 30/30 nodes  15.0 nodes/s  0.0 s left");
}

TEST_CASE("progress: redraws in place at most ten times a second, and erases itself") {
  char* buf = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buf, &size);
  REQUIRE(out != nullptr);
  {
    ProgressBar::Clock::time_point t0{};
    ProgressBar bar(out, 4, t0);
    bar.Update(0, t0);
    bar.Update(1, t0 + 50ms);  // within 100 ms of the last draw: skipped
    bar.Update(2, t0 + 99ms);
    bar.Update(3, t0 + 100ms);
    bar.Update(4, t0 + 150ms);
  }  // the destructor erases the line
  std::fclose(out);
  std::string text(buf, size);
  std::free(buf);
  CHECK(text.find("0/4 nodes") != std::string::npos);
  CHECK(text.find("1/4 nodes") == std::string::npos);
  CHECK(text.find("2/4 nodes") == std::string::npos);
  CHECK(text.find("\r\x1b[Kdeploying [###############\u00b7\u00b7\u00b7\u00b7\u00b7] 3/4 nodes  "
                  "30.0 nodes/s  0.0 s left") != std::string::npos);
  CHECK(text.find("4/4 nodes") == std::string::npos);
  CHECK(text.rfind("\r\x1b[K") == text.size() - 4);
  CHECK(text.find('\n') == std::string::npos);
}

}  // namespace
}  // namespace arbor::controller
