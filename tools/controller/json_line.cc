#include "json_line.h"

#include <fmt/format.h>

#include "arbor/escape.h"

namespace arbor::controller {
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
