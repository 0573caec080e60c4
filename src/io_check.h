// File: io_check.h
//
// Whether a queue can take an Io as the application gave it, and how many commands it takes:
// CheckIo() knows every rule and the error for each (op, buffers and their 4-byte alignment, the
// LBA range, Dataset Management ranges, raw command lengths, the queue's depth); IsSimpleIo() is
// the hot path's inline check for the common case, an unsplit read or write that passes them
// all. Both ask the SplitPlanner how an I/O splits. Pure functions.
#ifndef NVME_MPATH_SRC_IO_CHECK_H_
#define NVME_MPATH_SRC_IO_CHECK_H_

#include <cstdint>

#include <nvme_mpath/io.h>

#include "split_planner.h"

namespace nvme_mpath::internal {

// Returns 0 and sets `*commands` to how many commands `io` takes, or returns the error for the
// application: -EINVAL (no io, no callback, a missing or misaligned buffer, nlb 0, too many DSM
// ranges, a raw length not a multiple of 4), -EALREADY (`io` is in flight: submitted, its
// callback not run yet; IsInFlight), -ERANGE (LBAs beyond `nsze`), -E2BIG (a raw transfer over
// the paths' limit, or more commands than the queue's `depth`), -EOPNOTSUPP.
int CheckIo(const Io* io, uint64_t nsze, uint32_t depth, const SplitPlanner& planner,
            uint32_t* commands);

// Returns true when `io` was submitted and its callback has not run yet: its commands still
// count down in its private state (io_chain.h: StartIo() sets them, the last EndCommand() before
// the callback takes them to 0; a fresh Io has none). Submitting it again would overwrite that
// state under the commands in flight.
inline bool IsInFlight(const Io& io) { return io.priv.children_left != 0; }

// Returns true when `io` is a read or write with a callback, not in flight, 4-byte aligned
// buffers, in range, that fits one command: then CheckIo() would return 0 with one command.
// False means "ask CheckIo()", which knows the error to return.
inline bool IsSimpleIo(const Io& io, uint64_t nsze, const SplitPlanner& planner) {
  static_assert(static_cast<int>(IoOp::kRead) == 0 && static_cast<int>(IoOp::kWrite) == 1);
  const uintptr_t buf = reinterpret_cast<uintptr_t>(io.buf);
  const uintptr_t md = reinterpret_cast<uintptr_t>(io.md);
  return static_cast<uint8_t>(io.op) <= static_cast<uint8_t>(IoOp::kWrite) &&
         io.done != nullptr && !IsInFlight(io) && buf != 0 && ((buf | md) & 3) == 0 &&
         io.slba < nsze && io.nlb <= nsze - io.slba &&
         planner.FitsOneCommand(io.slba, io.nlb);  // nlb 0: false
}

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_IO_CHECK_H_
