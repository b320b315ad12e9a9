#include "json_line.h"

#include <fmt/format.h>

namespace arbor::controller {
namespace {

// The length of the valid UTF-8 sequence at s[i], or 0 when it is not one (overlong forms,
// surrogates and code points past U+10FFFF included).
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b = byte(i);
  std::size_t n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 ? 2 : 0;
  if (n == 0 || b > 0xF4 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  unsigned char b1 = byte(i + 1);
  if (b == 0xE0 && b1 < 0xA0) return 0;  // overlong
  if (b == 0xED && b1 > 0x9F) return 0;  // surrogate
  if (b == 0xF0 && b1 < 0x90) return 0;  // overlong
  if (b == 0xF4 && b1 > 0x8F) return 0;  // past U+10FFFF
  return n;
}

}  // namespace

std::string JsonQuote(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\u{:04x}", c);
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (std::size_t n = Utf8Length(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    } else {
      out += "\\ufffd";
    }
    ++i;
  }
  return out + "\"";
}

std::string JsonLine(std::string_view command, std::optional<NodeId> id, const Outcome& o,
                     double time_ms) {
  std::string out = fmt::format("{{\"command\":{},\"ok\":{}", JsonQuote(command), o.ok);
  if (id) out += fmt::format(",\"id\":{}", *id);
  if (o.ok) {
    out += ",\"result\":" + JsonQuote(o.result);
  } else {
    out += ",\"error\":" + JsonQuote(o.error);
  }
  return out + fmt::format(",\"time_ms\":{:.3f}}}", time_ms);
}

std::string RenderAnswer(bool json, std::string_view command, std::optional<NodeId> id,
                         const Outcome& outcome, std::chrono::steady_clock::time_point submitted) {
  if (!json) return PlainLine(outcome);
  std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - submitted;
  return JsonLine(command, id, outcome, took.count());
}

}  // namespace arbor::controller
