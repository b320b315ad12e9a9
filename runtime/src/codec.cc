#include "codec.h"

namespace arbor {

std::string Reader::Str() {
  std::uint32_t n = U32();
  if (n > kMaxStringBytes) return Fail("string of " + std::to_string(n) + " bytes"), "";
  if (!Need(n)) return "";
  std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
  pos_ += n;
  return s;
}

void Reader::SkipStr() {
  std::uint32_t n = U32();
  if (n > kMaxStringBytes) return Fail("string of " + std::to_string(n) + " bytes");
  if (Need(n)) pos_ += n;
}

std::uint32_t Reader::Count(std::size_t limit, std::size_t min_bytes, const char* what) {
  std::uint32_t n = U32();
  if (n > limit || n * min_bytes > b_.size() - pos_) {
    Fail(std::string("bad ") + what + " count " + std::to_string(n));
    return 0;
  }
  return n;
}

void Reader::Fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  pos_ = b_.size();
}

void Reader::Truncated() { Fail("truncated message"); }

void WriteOp(Writer& w, const Op& op) {
  w.Str(op.verb);
  w.U32(static_cast<std::uint32_t>(op.args.size()));
  for (const std::string& a : op.args) w.Str(a);
}

bool ValidCode(std::uint8_t c) { return c <= static_cast<std::uint8_t>(Code::kFailedPrecondition); }

Status Malformed(const std::string& why) { return InvalidArgument("malformed message: " + why); }

bool ReadPreamble(Reader& r, std::uint8_t kind, const char* what) {
  if (r.U32() != kWireMagic) {
    r.Fail("bad magic (not an arbor message, or another protocol version)");
    return false;
  }
  if (r.U8() != kind) {
    r.Fail(std::string("expected ") + what);
    return false;
  }
  return true;
}

Status ReadRoute(Reader& r) {
  std::uint8_t code = r.U8();
  std::string message = r.Str();
  if (!ValidCode(code)) r.Fail("bad status code " + std::to_string(code));
  return code == 0 || !r.error().empty() ? Status::Ok() : Status(static_cast<Code>(code), message);
}

}  // namespace arbor
