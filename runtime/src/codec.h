// Writer and Reader: the little-endian primitives of arbor's binary encodings (wire messages
// and the config handed to nodes). The Reader checks every bound; its first failure sticks.
// Thread-safety: none; each is used by one thread at a time.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "arbor/message.h"

namespace arbor {

class Writer {
 public:
  void U8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(std::uint32_t v) { Raw(&v, 4); }
  void U64(std::uint64_t v) { Raw(&v, 8); }
  void Str(std::string_view s) {
    U32(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Raw(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string out_;
};

// Reads with bounds checks; the first failure sticks and every later read returns zero.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) : b_(b) {}
  std::uint8_t U8() { return Fixed<std::uint8_t>(); }
  std::uint32_t U32() { return Fixed<std::uint32_t>(); }
  std::uint64_t U64() { return Fixed<std::uint64_t>(); }
  // Out of line, like Count() and Fail(): every decoder calls them many times, and inlined
  // copies would grow every node's executable (its RSS) for no measurable speed.
  std::string Str();
  // Checks a string is there and steps over it, without copying it.
  void SkipStr();
  // A count that must not exceed `limit`, and must fit in what is left (each item >= min_bytes).
  std::uint32_t Count(std::size_t limit, std::size_t min_bytes, const char* what);
  void Fail(std::string why);
  bool AtEnd() const { return pos_ == b_.size(); }
  std::size_t pos() const { return pos_; }
  const std::string& error() const { return error_; }

 private:
  bool Need(std::size_t n) {
    if (b_.size() - pos_ >= n) return true;
    Truncated();
    return false;
  }
  void Truncated();
  template <typename T>
  T Fixed() {
    T v{};
    if (!Need(sizeof v)) return v;
    std::memcpy(&v, b_.data() + pos_, sizeof v);
    pos_ += sizeof v;
    return v;
  }
  std::span<const std::uint8_t> b_;
  std::size_t pos_ = 0;
  std::string error_;
};

// The pieces every wire format shares (message.cc, batch.cc).
// An operation: str verb, u32 nargs, nargs x str.
void WriteOp(Writer& w, const Op& op);
bool ValidCode(std::uint8_t code);
Status Malformed(const std::string& why);
// The magic and the kind byte; `what` names the kind expected, for the error ("a reply").
bool ReadPreamble(Reader& r, std::uint8_t kind, const char* what);
// A route status: u8 code and str message (the message of an OK status is dropped).
Status ReadRoute(Reader& r);

}  // namespace arbor
