// The request a node decodes from whoever sent it (its parent, the controller, or anything that
// can reach its socket): no input may crash, hang or allocate without bound. The request
// encoding is canonical (every field is written back exactly as it was read, and nothing is
// optional), so whatever decodes must encode back to the very same bytes, obey the limits a
// sender checks, and agree with the header a forwarding hop peeks.
#include <cstdint>
#include <span>
#include <string_view>

#include "arbor/message.h"
#include "fuzz_check.h"
#include "wire_header.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  arbor::Result<arbor::Request> q = arbor::DecodeRequest(bytes);
  std::optional<arbor::RequestHeader> h = arbor::PeekRequestHeader(bytes);
  if (!q.ok()) {
    FUZZ_CHECK(q.status().code() == arbor::Code::kInvalidArgument);
    return 0;
  }
  std::string again = arbor::EncodeRequest(*q);
  FUZZ_CHECK(again == std::string_view(reinterpret_cast<const char*>(data), size));
  // A request the receiver accepts is one a sender may send.
  FUZZ_CHECK(arbor::CheckRequestLimits(*q).ok());
  FUZZ_CHECK(h.has_value());
  FUZZ_CHECK(h->id == q->id && h->target == q->target && h->budget_ms == q->budget_ms);
  return 0;
}
