// File: write_hold.cc
//
// The write hold rule (see write_hold.h).
#include "write_hold.h"

namespace nvme_mpath::internal {

int64_t WriteHoldNs(const WriteHoldFacts& f) {
  constexpr int64_t kMs = 1'000'000;
  if (UsesKatoFloor(f)) return (3 * int64_t{kFabricsKatoFloorMs} + f.cqt_ms) * kMs;
  const int64_t multiplier = f.tbkas ? 3 : 2;
  return (multiplier * int64_t{f.kato_ms} + f.cqt_ms) * kMs;
}

bool IsFabricsTransport(std::string_view transport) { return transport != "pcie"; }

}  // namespace nvme_mpath::internal
