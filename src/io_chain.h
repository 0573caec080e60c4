// File: io_chain.h
//
// An I/O and its commands, as the block layer chains a split bio to its parent (bio_chain(),
// bio_endio()): the I/O completes once, when the last of its commands has, with the first error
// any of them had (and that command's NVMe status) and the last non-zero result dword. The
// state lives in the caller's Io (Io::priv) and the result fields are set only at the end.
// StartIo() and EndCommand() are inline: they run once per I/O and per command on the hot path.
//
// Threading model: an Io belongs to the queue it was submitted to, and is used by its thread only
// until its callback has run.
#ifndef NVME_MPATH_SRC_IO_CHAIN_H_
#define NVME_MPATH_SRC_IO_CHAIN_H_

#include <cstdint>

#include <nvme_mpath/io.h>
#include <nvme_mpath/status.h>

#include "debug_assert.h"

namespace nvme_mpath::internal {

// Starts `io`, submitted at `now`, as `commands` commands: its private state afresh, its result
// fields cleared (a caller that looks before the callback sees no stale result).
inline void StartIo(Io* io, uint32_t commands, int64_t now) {
  io->priv = IoPrivate{};
  io->priv.submit_ns = now;
  io->priv.children_left = static_cast<uint16_t>(commands);
  io->res = 0;
  io->status = NvmeStatus{};
  io->result = 0;
}

// One command of `io` ended with `res` (0 or -errno), NVMe `status` and result dword `result`.
// Returns true when it was the last one: `io`'s result fields are then set, and its callback is
// the caller's to run.
inline bool EndCommand(Io* io, int res, uint16_t status, uint32_t result) {
  if (res != 0 && io->priv.first_err == 0) {
    io->priv.first_err = res;
    io->priv.first_status = status;
  }
  if (result != 0) io->priv.result = result;
  NVME_MPATH_ASSERT(io->priv.children_left != 0);
  if (--io->priv.children_left != 0) return false;
  io->res = io->priv.first_err;
  io->status = NvmeStatus{io->priv.first_status};
  io->result = io->priv.result;
  return true;
}

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_IO_CHAIN_H_
