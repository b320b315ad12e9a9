// The config a node gets from whoever starts it: a memfd's bytes (DecodeConfig), or hex on an
// ssh command line (ConfigFromHex). No input may crash, hang or allocate without bound.
//
// The encoding is not canonical: the decoder maps out-of-range flags and enums to their
// defaults, masks the ports, truncates integers to int and lets a repeated plugin option key
// collapse. So Encode(Decode(x)) == x does not hold. What must hold is that the decoded value
// survives the handoff unchanged: Decode(Encode(c)) == c, compared through the encoding (it
// writes every field, so equal encodings mean equal configs), by memfd and by hex alike.
#include <unistd.h>

#include <cstdint>
#include <span>
#include <string>

#include "arbor/config_handoff.h"
#include "fuzz_check.h"

namespace {

std::span<const std::uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void CheckSurvivesHandoff(const arbor::Config& c) {
  const std::string once = arbor::EncodeConfig(c);
  arbor::Result<arbor::Config> back = arbor::DecodeConfig(Bytes(once));
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(arbor::EncodeConfig(*back) == once);
  arbor::Result<arbor::Config> hex = arbor::ConfigFromHex(arbor::ConfigToHex(c));
  FUZZ_CHECK(hex.ok() && arbor::EncodeConfig(*hex) == once);
  FUZZ_CHECK(arbor::ConfigDigest(*back) == arbor::ConfigDigest(c));
  (void)c.EndpointFor("s", 1, c.hosts.empty() ? "" : c.hosts[0].name);
  for (const arbor::NodeSpec& n : c.nodes) (void)c.PortFor(n.id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  arbor::Result<arbor::Config> c = arbor::DecodeConfig(std::span(data, size));
  if (c.ok()) CheckSurvivesHandoff(*c);
  arbor::Result<arbor::Config> h =
      arbor::ConfigFromHex(std::string_view(reinterpret_cast<const char*>(data), size));
  if (h.ok()) CheckSurvivesHandoff(*h);
  return 0;
}
