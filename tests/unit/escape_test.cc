// Escape(): what reaches a terminal or a log from outside is one printable line.
#include "arbor/escape.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>
#include <memory>
#include <sstream>
#include <string>

namespace arbor {
namespace {

TEST_CASE("escape: printable text and the SPEC strings pass unchanged") {
  CHECK(Escape("Ok:10: 'MyVar' not found") == "Ok:10: 'MyVar' not found");
  CHECK(Escape("Ok: 7;10;15") == "Ok: 7;10;15");
  CHECK(Escape("a\\b ~") == "a\\b ~");
  CHECK(Escape("") == "");
}

TEST_CASE("escape: control bytes become C-style escapes") {
  CHECK(Escape("a\x1b[31mb") == "a\\x1b[31mb");
  CHECK(Escape("one\ntwo\r\tthree") == "one\\ntwo\\r\\tthree");
  CHECK(Escape(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(Escape("\x7f\x01") == "\\x7f\\x01");
}

TEST_CASE("escape: valid UTF-8 passes and C1 controls and broken bytes do not") {
  CHECK(Escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xb3") ==
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8c\xb3");
  CHECK(Escape("\xc2\x9b"
               "2J") ==
        "\\xc2\\x9b"
        "2J");  // U+009B, CSI in some terminals
  CHECK(Escape("\xff\xfe") == "\\xff\\xfe");
  CHECK(Escape("\xc3") == "\\xc3");                    // cut short
  CHECK(Escape("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
  CHECK(Escape("\xc0\xaf") == "\\xc0\\xaf");           // overlong '/'
}

TEST_CASE("escape: escaping twice changes nothing") {
  std::string once = Escape("x\x1b\n\xff\\y");
  CHECK(Escape(once) == once);
}

TEST_CASE("escape: a log line that quotes input stays one escaped line") {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("escape-test", sink);
  InstallEscapingPattern(logger, "test: [%l] %E");
  logger.warn("bad name '{}'", "a\x1b]0;x\x07\nb");
  CHECK(out.str() == "test: [warning] bad name 'a\\x1b]0;x\\x07\\nb'\n");
}

}  // namespace
}  // namespace arbor
