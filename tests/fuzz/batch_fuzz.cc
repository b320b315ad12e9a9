// The batches a node splits and the collects it answers (batch.h), from any peer: no input may
// crash, hang or allocate without bound. What ScanBatch accepts is exactly what a hop forwards:
// rebuilding the batch from its group spans gives back the input byte for byte, and decoding
// every group's operations then encoding them again does too. A collect round-trips as well.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "arbor/batch.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::span<const std::uint8_t> bytes(data, size);
  if (arbor::Result<arbor::Collect> c = arbor::DecodeCollect(bytes); c.ok()) {
    FUZZ_CHECK(arbor::EncodeCollect(*c) == in);
  } else {
    FUZZ_CHECK(c.status().code() == arbor::Code::kInvalidArgument);
  }
  arbor::Result<arbor::BatchView> v = arbor::ScanBatch(bytes);
  if (!v.ok()) {
    FUZZ_CHECK(v.status().code() == arbor::Code::kInvalidArgument);
    return 0;
  }
  std::vector<const arbor::GroupSpan*> all;
  arbor::BatchRequest decoded{v->id, v->budget_ms, {}};
  std::uint32_t ops = 0;
  for (const arbor::GroupSpan& g : v->groups) {
    FUZZ_CHECK(g.first == ops && g.nops > 0);
    ops += g.nops;
    all.push_back(&g);
    // Numbers count from 1 and never wrap: what ScanBatch accepts, a fence can compare.
    FUZZ_CHECK(g.order.epoch == 0 || (g.order.seq > 0 && g.order.seq - 1 <= UINT64_MAX - g.nops));
    decoded.groups.push_back({g.target, arbor::DecodeGroupOps(g), g.order});
    FUZZ_CHECK(decoded.groups.back().ops.size() == g.nops);
  }
  FUZZ_CHECK(ops == v->nops && ops <= arbor::kMaxBatchOps);
  std::string rebuilt(arbor::SubBatchSize(all), '\0');
  arbor::WriteSubBatch(reinterpret_cast<std::uint8_t*>(rebuilt.data()), v->id, v->budget_ms, all);
  FUZZ_CHECK(rebuilt == in);
  FUZZ_CHECK(arbor::EncodeBatch(decoded) == in);
  FUZZ_CHECK(arbor::CheckBatchLimits(decoded).ok());
  return 0;
}
