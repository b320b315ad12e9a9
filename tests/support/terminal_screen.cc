#include "terminal_screen.h"

#include <algorithm>
#include <cstdio>

namespace arbor::testing {
namespace {

// "ESC [ 1 2 D" for a failed check's message: every byte visible.
std::string Describe(std::string_view prefix, std::string_view bytes) {
  std::string out(prefix);
  for (unsigned char b : bytes) {
    char buf[8];
    if (b < 0x20 || b >= 0x7f) {
      std::snprintf(buf, sizeof buf, " \\x%02x", b);
    } else {
      std::snprintf(buf, sizeof buf, " %c", b);
    }
    out += buf;
  }
  return out;
}

}  // namespace

TerminalScreen::TerminalScreen(int rows, int columns)
    : rows_(rows), cols_(columns), grid_(rows, std::vector<Cell>(columns)) {}

void TerminalScreen::Feed(std::string_view bytes) {
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    switch (state_) {
      case State::kText: Text(b); break;
      case State::kUtf8:
        if ((b & 0xc0) != 0x80) {
          errors_.push_back(Describe("malformed UTF-8:", sequence_ + char(b)));
          state_ = State::kText;
          break;
        }
        sequence_ += char(b);
        if (--utf8_left_ == 0) {
          state_ = State::kText;
          Put(sequence_);
        }
        break;
      case State::kEscape: Escape(b); break;
      case State::kCsi:
        sequence_ += char(b);
        if (b >= 0x40 && b <= 0x7e) {
          state_ = State::kText;
          Csi(b);
        } else if (b < 0x20 || b > 0x7e) {
          errors_.push_back(Describe("malformed CSI: ESC [", sequence_));
          state_ = State::kText;
        }
        break;
    }
  }
}

void TerminalScreen::Text(unsigned char b) {
  switch (b) {
    case '\r': col_ = 0; wrap_pending_ = false; return;
    case '\n': LineFeed(); return;
    case '\b': col_ = std::max(0, col_ - 1); wrap_pending_ = false; return;
    case '\t': col_ = std::min(cols_ - 1, (col_ / 8 + 1) * 8); wrap_pending_ = false; return;
    case '\a': return;  // the bell: nothing to see
    case 0x1b: state_ = State::kEscape; sequence_.clear(); return;
    default: break;
  }
  if (b < 0x20 || b == 0x7f) {
    errors_.push_back(Describe("unknown control character:", std::string(1, char(b))));
    return;
  }
  if (b < 0x80) return Put(std::string(1, char(b)));
  utf8_left_ = (b & 0xe0) == 0xc0 ? 1 : (b & 0xf0) == 0xe0 ? 2 : (b & 0xf8) == 0xf0 ? 3 : 0;
  if (utf8_left_ == 0) {
    errors_.push_back(Describe("malformed UTF-8:", std::string(1, char(b))));
    return;
  }
  sequence_.assign(1, char(b));
  state_ = State::kUtf8;
}

void TerminalScreen::Put(std::string glyph) {
  if (wrap_pending_) {
    col_ = 0;
    LineFeed();
  }
  grid_[row_][col_] = Cell{std::move(glyph), dim_};
  if (col_ == cols_ - 1) {
    wrap_pending_ = true;
  } else {
    ++col_;
  }
}

void TerminalScreen::LineFeed() {
  wrap_pending_ = false;
  if (row_ < rows_ - 1) {
    ++row_;
    return;
  }
  grid_.erase(grid_.begin());
  grid_.emplace_back(cols_);
}

void TerminalScreen::Escape(unsigned char b) {
  sequence_ += char(b);
  if (sequence_ == "[") {
    state_ = State::kCsi;
    sequence_.clear();
    return;
  }
  if (b >= 0x20 && b <= 0x2f) return;  // an intermediate byte: the final one follows
  state_ = State::kText;
  // Keypad modes, and choosing ASCII as the character set (part of xterm's sgr0): no effect on
  // what is drawn.
  if (sequence_ == "=" || sequence_ == ">" || sequence_ == "(B") return;
  errors_.push_back(Describe("unknown escape sequence: ESC", sequence_));
}

int TerminalScreen::Param(const std::vector<int>& params, std::size_t i, int fallback) const {
  return i < params.size() && params[i] > 0 ? params[i] : fallback;
}

void TerminalScreen::Csi(unsigned char final_byte) {
  std::string body = sequence_.substr(0, sequence_.size() - 1);
  char prefix = !body.empty() && body[0] >= 0x3c && body[0] <= 0x3f ? body[0] : 0;
  if (prefix != 0) body.erase(0, 1);
  std::vector<int> params;
  bool number = false;
  for (char c : body) {
    if (c == ';') {
      if (!number) params.push_back(0);
      number = false;
    } else if (c >= '0' && c <= '9') {
      if (!number) params.push_back(0);
      params.back() = params.back() * 10 + (c - '0');
      number = true;
    } else {
      errors_.push_back(Describe("unknown CSI: ESC [", sequence_));
      return;
    }
  }
  if (prefix == '?' && (final_byte == 'h' || final_byte == 'l')) {
    // Cursor keys, cursor visibility, meta key, bracketed paste: modes that draw nothing.
    bool known = !params.empty();
    for (int p : params) known &= p == 1 || p == 12 || p == 25 || p == 1034 || p == 2004;
    if (known) return;
  }
  if (prefix != 0) {
    errors_.push_back(Describe("unknown CSI: ESC [", sequence_));
    return;
  }
  wrap_pending_ = false;
  int n = Param(params, 0, 1);
  switch (final_byte) {
    case 'A': row_ -= n; break;
    case 'B': row_ += n; break;
    case 'C': col_ += n; break;
    case 'D': col_ -= n; break;
    case 'G': col_ = n - 1; break;
    case 'd': row_ = n - 1; break;
    case 'H':
    case 'f':
      row_ = Param(params, 0, 1) - 1;
      col_ = Param(params, 1, 1) - 1;
      break;
    case 'K': {
      int mode = params.empty() ? 0 : params[0];
      if (mode == 0) EraseCells(row_, col_, cols_);
      else if (mode == 1) EraseCells(row_, 0, col_ + 1);
      else if (mode == 2) EraseCells(row_, 0, cols_);
      else errors_.push_back(Describe("unknown CSI: ESC [", sequence_));
      break;
    }
    case 'J': {
      int mode = params.empty() ? 0 : params[0];
      if (mode != 0 && mode != 2) {
        errors_.push_back(Describe("unknown CSI: ESC [", sequence_));
        break;
      }
      EraseCells(row_, mode == 0 ? col_ : 0, cols_);
      for (int r = mode == 0 ? row_ + 1 : 0; r < rows_; ++r) {
        if (r != row_) EraseCells(r, 0, cols_);
      }
      break;
    }
    case 'X': EraseCells(row_, col_, std::min(cols_, col_ + n)); break;
    case 'P': {
      auto& line = grid_[row_];
      int k = std::min(n, cols_ - col_);
      line.erase(line.begin() + col_, line.begin() + col_ + k);
      line.resize(cols_);
      break;
    }
    case '@': {
      auto& line = grid_[row_];
      int k = std::min(n, cols_ - col_);
      line.insert(line.begin() + col_, k, Cell{});
      line.resize(cols_);
      break;
    }
    case 'm': Sgr(params); break;
    default: errors_.push_back(Describe("unknown CSI: ESC [", sequence_)); break;
  }
  Clamp();
}

void TerminalScreen::Sgr(const std::vector<int>& params) {
  if (params.empty()) dim_ = false;
  for (int p : params) {
    if (p == 0 || p == 22) dim_ = false;
    else if (p == 2) dim_ = true;
    // Bold, italic, underline, reverse and colours are recorded as nothing: the tests compare
    // text, and the dim hint is the only attribute they tell apart.
    else if (!(p == 1 || p == 3 || p == 4 || p == 7 || p == 23 || p == 24 || p == 27 ||
               p == 39 || p == 49 || (p >= 30 && p <= 37) || (p >= 90 && p <= 97))) {
      errors_.push_back(Describe("unknown SGR: ESC [", sequence_));
    }
  }
}

void TerminalScreen::EraseCells(int row, int from, int to) {
  for (int c = std::max(0, from); c < std::min(to, cols_); ++c) grid_[row][c] = Cell{};
}

void TerminalScreen::Clamp() {
  row_ = std::clamp(row_, 0, rows_ - 1);
  col_ = std::clamp(col_, 0, cols_ - 1);
}

std::vector<std::string> TerminalScreen::Rows() const {
  std::vector<std::string> out;
  for (const auto& line : grid_) {
    int end = cols_;
    while (end > 0 && line[end - 1].text.empty()) --end;
    std::string text;
    for (int c = 0; c < end; ++c) text += line[c].text.empty() ? " " : line[c].text;
    out.push_back(text);
  }
  return out;
}

std::vector<std::string> TerminalScreen::Lines() const {
  std::vector<std::string> out = Rows();
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

std::string TerminalScreen::Dump() const {
  std::string out;
  int r = 0;
  for (const std::string& line : Rows()) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%2d|", r++);
    out += buf + line + "|\n";
  }
  return out + "cursor at row " + std::to_string(row_) + ", column " + std::to_string(col_);
}

bool TerminalScreen::Dim(int row, int column) const {
  return row >= 0 && row < rows_ && column >= 0 && column < cols_ &&
         !grid_[row][column].text.empty() && grid_[row][column].dim;
}

}  // namespace arbor::testing
