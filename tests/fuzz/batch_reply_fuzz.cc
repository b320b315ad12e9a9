// The batch replies a hop merges from its children and the controller reads (batch.h): no input
// may crash, hang or allocate without bound. What decodes encodes back to the input, except that
// a message beside an OK route is dropped (an OK status has no message), as for plain replies;
// the entries a hop copies up as bytes (ScanBatchReply) are exactly the ones DecodeBatchReply
// reads, and copying them under new indices changes nothing else.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "arbor/batch.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> bytes(data, size);
  arbor::Result<arbor::BatchReply> p = arbor::DecodeBatchReply(bytes);
  arbor::Result<arbor::BatchReplyView> v = arbor::ScanBatchReply(bytes);
  FUZZ_CHECK(p.ok() == v.ok());
  if (!p.ok()) {
    FUZZ_CHECK(p.status().code() == arbor::Code::kInvalidArgument);
    return 0;
  }
  // The canonical form: the route message emptied when the route is OK.
  std::string expected = arbor::BatchReplyFront(p->id, p->route, p->held,
                                                static_cast<std::uint32_t>(v->entries.size()));
  std::string copied = expected;
  for (const arbor::EntrySpan& e : v->entries) {
    expected.append(reinterpret_cast<const char*>(e.bytes.data()), e.bytes.size());
    arbor::AppendEntry(copied, e, e.index + 1);
    std::uint32_t index;
    std::memcpy(&index, copied.data() + copied.size() - e.bytes.size(), 4);
    FUZZ_CHECK(index == e.index + 1);
  }
  FUZZ_CHECK(arbor::EncodeBatchReply(*p) == expected);
  FUZZ_CHECK(copied.size() == expected.size());
  FUZZ_CHECK(p->entries.size() == v->entries.size());
  for (std::size_t i = 0; i < p->entries.size(); ++i) {
    FUZZ_CHECK(p->entries[i].index == v->entries[i].index);
    FUZZ_CHECK(arbor::EntryBytes(p->entries[i]) == v->entries[i].bytes.size());
  }
  return 0;
}
