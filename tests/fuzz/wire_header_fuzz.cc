// The header peek and the budget patch (wire_header.h): what a forwarding hop does to a
// request without decoding it. The peek must never read past the buffer and must agree with
// the full decoder; the patch must change the four budget bytes and nothing else, so the
// forwarded message decodes to the same request with only the budget replaced.
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "arbor/message.h"
#include "fuzz_check.h"
#include "wire_header.h"

namespace {

constexpr std::size_t kBudgetAt = 21;  // u32 magic, u8 kind, u64 id, i64 target, then the budget

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first four bytes choose the new budget; the rest is the message, so that the fuzzer
  // explores both. Copied into a buffer of exactly that size, so ASan sees any overread.
  if (size < 4) return 0;
  std::uint32_t budget = 0;
  std::memcpy(&budget, data, 4);
  std::vector<std::uint8_t> msg(data + 4, data + size);
  std::optional<arbor::RequestHeader> h = arbor::PeekRequestHeader(msg);
  arbor::Result<arbor::Request> before = arbor::DecodeRequest(msg);
  if (before.ok()) FUZZ_CHECK(h.has_value());
  if (!h) {
    FUZZ_CHECK(msg.size() < arbor::kRequestHeaderBytes || !before.ok());
    return 0;
  }
  FUZZ_CHECK(msg.size() >= arbor::kRequestHeaderBytes);

  std::vector<std::uint8_t> patched = msg;
  arbor::PatchBudget(patched, budget);
  for (std::size_t i = 0; i < msg.size(); ++i) {
    if (i < kBudgetAt || i >= kBudgetAt + 4) FUZZ_CHECK(patched[i] == msg[i]);
  }
  std::optional<arbor::RequestHeader> h2 = arbor::PeekRequestHeader(patched);
  FUZZ_CHECK(h2.has_value());
  FUZZ_CHECK(h2->id == h->id && h2->target == h->target && h2->budget_ms == budget);

  arbor::Result<arbor::Request> after = arbor::DecodeRequest(patched);
  FUZZ_CHECK(after.ok() == before.ok());
  if (before.ok()) {
    arbor::Request expect = *before;
    expect.budget_ms = budget;
    FUZZ_CHECK(arbor::EncodeRequest(*after) == arbor::EncodeRequest(expect));
  }
  return 0;
}
