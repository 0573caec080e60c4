// File: ana.h
//
// The ANA log page (Log Identifier 0x0C): parsing, and reading it from a controller through
// libnvme with RAE=0 (which re-arms the target's ANA-change AEN), in MDTS-sized chunks, retried
// when the change count moves during the read (a torn read).
#ifndef NVME_MPATH_SRC_ANA_H_
#define NVME_MPATH_SRC_ANA_H_

#include <cstdint>
#include <functional>
#include <string>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

#include <nvme_mpath/types.h>

namespace nvme_mpath::internal {

struct AnaGroup {
  uint32_t grpid = 0;
  uint64_t chgcnt = 0;
  AnaState state = AnaState::kUnknown;  // raw state field; unknown values map to kUnknown
  uint8_t raw_state = 0;
  std::vector<uint32_t> nsids;
};

struct AnaLog {
  uint64_t chgcnt = 0;
  std::vector<AnaGroup> groups;

  // Returns the group holding `nsid`, or null.
  const AnaGroup* GroupOf(uint32_t nsid) const;
  // Returns the state of `nsid`, or nullopt when no group lists it.
  std::optional<AnaState> StateOf(uint32_t nsid) const;
};

// Parses a complete ANA log (header + descriptors). Errors (kDataLoss) on a truncated buffer, a
// group count or NSID count that runs past the end, or trailing garbage claims; never reads out
// of bounds.
absl::StatusOr<AnaLog> ParseAnaLog(absl::Span<const uint8_t> buf);

// Returns the byte length of a log that lists `ngroups` groups and `nnsids` NSIDs in all.
size_t AnaLogSize(size_t ngroups, size_t nnsids);

// Reads the ANA log of the controller behind `fd` (an ng or nvme char device) via libnvme.
// `max_chunk_bytes` bounds each Get Log Page (the controller's MDTS; 0 = no bound).
// Reads the header first to size the buffer, reads the rest at offsets, and retries (up to 5
// times) when chgcnt changed between the first and the last chunk. RAE=0. Each Get Log Page
// has a timeout of kAdminTimeoutMs (identify.h).
// Errors, by code (callers decide on the code, never on the message):
//   * kNotFound: the controller is gone, the Get Log Page failed with -ENODEV or -ENXIO (the
//     char device lost its controller). No other failure has this code (IsControllerGone());
//   * kDataLoss: a malformed or oversized log;
//   * anything else (kUnavailable for an NVMe status or a log that kept changing, the errno's
//     own code for any other -errno): the read failed, the controller may still be there.
absl::StatusOr<AnaLog> ReadAnaLog(int fd, uint32_t max_chunk_bytes, uint32_t anagrpmax,
                                  uint32_t nanagrpid);

// Returns true when a failed ReadAnaLog() / ReadAnaLogWith() says that the controller is gone
// (kNotFound: -ENODEV/-ENXIO).
inline bool IsControllerGone(const absl::Status& st) { return absl::IsNotFound(st); }

// Reads `len` bytes of the log at byte `offset` into `buf`; returns 0 or -errno (or a positive
// NVMe status). The seam that lets tests drive ReadAnaLogWith() without a device.
using AnaLogReader = std::function<int(uint64_t offset, uint32_t len, void* buf)>;
// ReadAnaLog() over any reader. `max_log_bytes` bounds the log (from the controller's limits).
absl::StatusOr<AnaLog> ReadAnaLogWith(const AnaLogReader& read, uint32_t max_chunk_bytes,
                                      size_t max_log_bytes, const std::string& what);

// ANATT: the state to use for a path whose log says `reported`. `*change_since_ns` remembers
// when the path entered ANA change (0: not in change); a path in change for longer than
// `anatt_s` seconds (from Identify Controller; 0: no limit) is treated as inaccessible until a
// read shows another state.
AnaState EffectiveAnaState(AnaState reported, int64_t now_ns, uint32_t anatt_s,
                           int64_t* change_since_ns);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_ANA_H_
