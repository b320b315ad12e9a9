// The reply a hop decodes from the child it forwarded to: no input may crash, hang or allocate
// without bound, and whatever decodes encodes back to the same bytes with one exception the
// format allows: an OK route status carries no message, so a message sent beside an OK route
// is dropped on decoding and re-encodes as the empty string. That is the strongest round trip
// that holds; the check below builds exactly those expected bytes.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "arbor/message.h"
#include "fuzz_check.h"

namespace {

// Offsets in a reply (message.cc): u32 magic, u8 kind, u64 id, u8 route code, then the route
// message as u32 length + bytes.
constexpr std::size_t kRouteCodeAt = 13;
constexpr std::size_t kRouteMessageAt = 14;

// The input as EncodeReply would write it back: the route message emptied when the route is OK.
std::string Canonical(std::string_view in) {
  if (static_cast<std::uint8_t>(in[kRouteCodeAt]) != 0) return std::string(in);
  std::uint32_t len = 0;
  std::memcpy(&len, in.data() + kRouteMessageAt, 4);
  std::string out(in.substr(0, kRouteMessageAt));
  out.append(4, '\0');
  out.append(in.substr(kRouteMessageAt + 4 + len));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  arbor::Result<arbor::Reply> p = arbor::DecodeReply(std::span(data, size));
  if (!p.ok()) {
    FUZZ_CHECK(p.status().code() == arbor::Code::kInvalidArgument);
    return 0;
  }
  std::string again = arbor::EncodeReply(*p);
  FUZZ_CHECK(again == Canonical(in));
  // And the canonical form is a fixed point: it decodes to a reply that encodes to itself.
  arbor::Result<arbor::Reply> p2 = arbor::DecodeReply(
      std::span(reinterpret_cast<const std::uint8_t*>(again.data()), again.size()));
  FUZZ_CHECK(p2.ok() && arbor::EncodeReply(*p2) == again);
  // A reply is never mistaken for a request.
  FUZZ_CHECK(!arbor::DecodeRequest(std::span(data, size)).ok());
  return 0;
}
