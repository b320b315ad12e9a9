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

}  // namespace arbor
