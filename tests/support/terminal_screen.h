// TerminalScreen: what a person would see on an xterm-like terminal, for tests of the REPL.
//
// A grid of rows x columns, fed with the bytes a program writes to its terminal. It renders
// printable UTF-8 (one cell per code point), CR, LF, BS, TAB, BEL, xterm's deferred autowrap,
// scrolling at the bottom row, and the CSI sequences line editors emit: cursor moves, erase in
// line and in display, insert and delete characters, SGR attributes (recorded per cell, so a
// test can tell dim text from plain text), and the keypad and meta modes, which change nothing
// visible. Anything else is not guessed at: the sequence is recorded in errors(), so a test
// fails loudly instead of comparing against a screen drawn wrongly.
//
// Thread-safety: none; one test owns one screen.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace arbor::testing {

class TerminalScreen {
 public:
  TerminalScreen(int rows, int columns);

  void Feed(std::string_view bytes);

  // Each row as text. Cells never written (or erased) at the end of a row are dropped; spaces
  // the program wrote are kept, so "> " after a prompt stays "> ".
  std::vector<std::string> Rows() const;
  // Rows() without the blank rows below the last non-blank one.
  std::vector<std::string> Lines() const;
  // Rows() as one string, one row per line, for a failed check's message.
  std::string Dump() const;
  // True when the cell holds text drawn with SGR 2 (dim, "faint").
  bool Dim(int row, int column) const;

  int cursor_row() const { return row_; }
  int cursor_column() const { return col_; }
  // One description per unknown or malformed sequence, e.g. "unknown CSI: ESC [ 5 n".
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  struct Cell {
    std::string text;  // one code point, or empty for a cell nothing was drawn in
    bool dim = false;
  };
  enum class State { kText, kEscape, kCsi, kUtf8 };

  void Text(unsigned char byte);
  void Put(std::string glyph);
  void LineFeed();
  void Escape(unsigned char byte);
  void Csi(unsigned char final_byte);
  void Sgr(const std::vector<int>& params);
  void EraseCells(int row, int from, int to);  // [from, to)
  int Param(const std::vector<int>& params, std::size_t i, int fallback) const;
  void Clamp();

  int rows_, cols_;
  std::vector<std::vector<Cell>> grid_;
  int row_ = 0, col_ = 0;
  bool wrap_pending_ = false;  // xterm: a glyph in the last column wraps only at the next glyph
  bool dim_ = false;
  State state_ = State::kText;
  std::string sequence_;  // the escape sequence read so far, or the partial UTF-8 code point
  std::size_t utf8_left_ = 0;
  std::vector<std::string> errors_;
};

}  // namespace arbor::testing
