// The config a node gets from whoever starts it: a memfd's bytes (DecodeConfig), or hex on an
// ssh command line (ConfigFromHex). No input may crash, hang or allocate without bound. (No
// round-trip check: the decoder maps out-of-range flags and enums to their defaults.)
#include <cstdint>
#include <span>
#include <string>

#include "arbor/config_handoff.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  arbor::Result<arbor::Config> c = arbor::DecodeConfig(std::span(data, size));
  if (c.ok()) (void)c->EndpointFor("s", 1, c->hosts.empty() ? "" : c->hosts[0].name);
  arbor::Result<arbor::Config> h =
      arbor::ConfigFromHex(std::string_view(reinterpret_cast<const char*>(data), size));
  if (h.ok()) (void)arbor::ConfigDigest(*h);
  return 0;
}
