// The YAML config loader (LoadConfigString, which LoadConfigFile calls with the file's text) on
// any text. The loader is strict, so most inputs are errors; what must hold:
//  - an error is an InvalidArgument that names the file, the line and the column
//    ("fuzz.yaml:L:C: ..."), never an exception that escapes;
//  - a config that loads is one the handoff carries unchanged to every node
//    (Decode(Encode(c)) == c, compared through the encoding), and loading is deterministic.
#include <cctype>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "arbor/config.h"
#include "arbor/config_handoff.h"
#include "fuzz_check.h"

namespace {

const std::string kSource = "fuzz.yaml";

// "fuzz.yaml:" then two positive decimal numbers, each followed by ':'.
bool NamesFileLineColumn(std::string_view m) {
  if (m.substr(0, kSource.size() + 1) != kSource + ":") return false;
  m.remove_prefix(kSource.size() + 1);
  for (int field = 0; field < 2; ++field) {
    std::size_t digits = 0;
    while (digits < m.size() && std::isdigit(static_cast<unsigned char>(m[digits]))) ++digits;
    if (digits == 0 || digits >= m.size() || m[digits] != ':' || m[0] == '0') return false;
    m.remove_prefix(digits + 1);
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  arbor::Result<arbor::Config> c = arbor::LoadConfigString(text, kSource);
  if (!c.ok()) {
    FUZZ_CHECK(c.status().code() == arbor::Code::kInvalidArgument);
    FUZZ_CHECK(NamesFileLineColumn(c.status().message()));
    return 0;
  }
  FUZZ_CHECK(c->source == kSource);
  const std::string bytes = arbor::EncodeConfig(*c);
  arbor::Result<arbor::Config> handed = arbor::DecodeConfig(
      std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  FUZZ_CHECK(handed.ok() && arbor::EncodeConfig(*handed) == bytes);
  arbor::Result<arbor::Config> again = arbor::LoadConfigString(text, kSource);
  FUZZ_CHECK(again.ok() && arbor::EncodeConfig(*again) == bytes);
  return 0;
}
