// The control messages a node decodes from its parent, a child or an adopting peer
// (control.h): no input may crash, hang or allocate without bound, and whatever decodes must
// encode back to the same bytes (for a sweep, the bytes of the entries it kept).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "arbor/control.h"

namespace {

template <typename T>
void RoundTrip(std::string_view bytes, arbor::Result<T> (*decode)(std::string_view)) {
  arbor::Result<T> m = decode(bytes);
  if (m.ok() && arbor::Encode(*m) != bytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  RoundTrip(bytes, &arbor::DecodeSpawnArgs);
  RoundTrip(bytes, &arbor::DecodeSpawnedReply);
  RoundTrip(bytes, &arbor::DecodeAdoptArgs);
  RoundTrip(bytes, &arbor::DecodeAttachArgs);
  RoundTrip(bytes, &arbor::DecodeIdentity);
  if (auto id = arbor::DecodeNodeId(bytes); id.ok() && arbor::EncodeNodeId(*id) != bytes) {
    std::abort();
  }
  // A sweep keeps the entries before a bad one (control.cc says why): what decodes is a prefix
  // of the input, and encodes back to exactly those bytes.
  if (auto sweep = arbor::DecodeSweep(bytes); sweep.ok()) {
    std::string again;
    for (const arbor::SweepEntry& e : *sweep) again += arbor::Encode(e);
    if (bytes.substr(0, again.size()) != again) std::abort();
  }
  return 0;
}
