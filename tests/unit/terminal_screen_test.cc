// The screen model the REPL tests read: it must draw what an xterm draws, and refuse what it
// does not know rather than draw it wrong.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "terminal_screen.h"

namespace arbor::testing {
namespace {

using Rows = std::vector<std::string>;

TEST_CASE("screen: text, carriage return, line feed and backspace") {
  TerminalScreen s(4, 10);
  s.Feed("> ping 40\r\nOk: 1\r\n> ab\bc");
  CHECK(s.Lines() == Rows{"> ping 40", "Ok: 1", "> ac"});
  CHECK(s.cursor_row() == 2);
  CHECK(s.cursor_column() == 4);
  CHECK(s.errors().empty());
}

TEST_CASE("screen: a full row wraps only at the next character, and the bottom row scrolls") {
  TerminalScreen s(2, 4);
  s.Feed("abcd");
  CHECK(s.cursor_row() == 0);
  CHECK(s.cursor_column() == 3);
  s.Feed("e\r\nf");
  CHECK(s.Lines() == Rows{"e", "f"});  // "abcd" scrolled off the top
  CHECK(s.errors().empty());
}

TEST_CASE("screen: cursor moves and erasing") {
  TerminalScreen s(3, 20);
  s.Feed("> exec 10 ab\x1b[2D\x1b[K");
  CHECK(s.Lines() == Rows{"> exec 10 "});  // a space that was drawn stays
  s.Feed("\x1b[3C!\x1b[1;1HX\x1b[2;5Hy\x1b[G-\x1b[A\x1b[B\x1b[B*");
  CHECK(s.Rows() == Rows{"X exec 10    !", "-   y", " *"});
  s.Feed("\x1b[2;1H\x1b[J");
  CHECK(s.Lines() == Rows{"X exec 10    !"});
  s.Feed("\x1b[1;3H\x1b[2P\x1b[1;1H\x1b[1@\x1b[1;3H\x1b[2X");
  CHECK(s.Lines() == Rows{" X  c 10    !"});
  s.Feed("\r\x1b[2K");
  CHECK(s.Lines().empty());
  CHECK(s.errors().empty());
}

TEST_CASE("screen: dim text is told apart, and modes that draw nothing draw nothing") {
  TerminalScreen s(2, 20);
  s.Feed("\x1b[?1h\x1b=\x1b(B> a\x1b[2m <id>\x1b[0m\x1b[5D");
  CHECK(s.Lines() == Rows{"> a <id>"});
  CHECK_FALSE(s.Dim(0, 2));
  CHECK(s.Dim(0, 4));
  CHECK(s.cursor_column() == 3);
  CHECK(s.errors().empty());
}

TEST_CASE("screen: UTF-8 takes one cell per code point") {
  TerminalScreen s(1, 10);
  s.Feed("a\xc3\xa9\xe2\x94\x80z");
  CHECK(s.Lines() == Rows{"a\xc3\xa9\xe2\x94\x80z"});
  CHECK(s.cursor_column() == 4);
}

TEST_CASE("screen: a sequence it does not know is an error, not a guess") {
  for (std::string bytes : {"\x1b[5n", "\x1b[?1049h", "\x1b]0;title\x07", "\x1b[3g", "\x0e",
                            "\x1b[38;5;10m", "\xff"}) {
    INFO(bytes.substr(1));
    TerminalScreen s(2, 10);
    s.Feed(bytes);
    CHECK_FALSE(s.errors().empty());
  }
}

}  // namespace
}  // namespace arbor::testing
