// libFuzzer target: the ANA log parser and the chunked reader (src/ana.h). Never crashes, never
// reads out of bounds; a parsed log is consistent with the bytes it came from.
#include <cstring>
#include <vector>

#include "ana.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nvme_mpath::internal;
  auto log = ParseAnaLog(absl::MakeConstSpan(data, size));
  if (log.ok()) {
    size_t nsids = 0;
    for (const AnaGroup& g : log->groups) nsids += g.nsids.size();
    if (AnaLogSize(log->groups.size(), nsids) > size) __builtin_trap();  // claimed more than given
    for (const AnaGroup& g : log->groups)
      for (uint32_t n : g.nsids) (void)log->StateOf(n);
  }
  // The chunked reader over the same bytes, with a chunk size taken from the input.
  if (size >= 1) {
    const uint32_t chunk = 4u * (1u + data[0] % 64);
    AnaLogReader reader = [&](uint64_t off, uint32_t len, void* out) {
      memset(out, 0, len);
      if (off < size) memcpy(out, data + off, std::min<uint64_t>(len, size - off));
      return 0;
    };
    (void)ReadAnaLogWith(reader, chunk, 1 << 16, "fuzz");
  }
  return 0;
}
