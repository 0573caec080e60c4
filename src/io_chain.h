// File: io_chain.h
//
// An I/O and its commands, as the block layer chains a split bio to its parent (bio_chain(),
// bio_endio()): the I/O completes once, when the last of its commands has, with the first error
// any of them had (and that command's NVMe status) and the last non-zero result dword. Those
// are gathered in the Io's result fields themselves, which io.h declares valid only inside the
// callback (cleared at the start, so a caller never sees a previous use's); the count of
// commands left lives in Io::priv. StartIo() and EndCommand() are inline: they run once per I/O
// and per command on the hot path.
//
// Threading model: an Io belongs to the queue it was submitted to, and is used by its thread only
// until its callback has run.
#ifndef NVME_MPATH_SRC_IO_CHAIN_H_
#define NVME_MPATH_SRC_IO_CHAIN_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <nvme_mpath/io.h>
#include <nvme_mpath/status.h>

#include "debug_assert.h"

namespace nvme_mpath::internal {

// Starts `io`, submitted at `now`, as `commands` commands: its private state afresh (the flush
// plan is SubmitFlush()'s), its result fields cleared.
inline void StartIo(Io* io, uint32_t commands, int64_t now) {
  io->priv.submit_ns = now;
  io->priv.children_left = static_cast<uint16_t>(commands);
  // res, status and result (and the padding between): two stores.
  static_assert(offsetof(Io, status) > offsetof(Io, res) &&
                offsetof(Io, result) > offsetof(Io, status));
  std::memset(&io->res, 0, offsetof(Io, result) + sizeof(io->result) - offsetof(Io, res));
}

// One command of `io` ended with `res` (0 or -errno), NVMe `status` and result dword `result`.
// Returns true when it was the last one: `io`'s result fields are then final, and its callback
// is the caller's to run.
inline bool EndCommand(Io* io, int res, uint16_t status, uint32_t result) {
  if (res != 0 && io->res == 0) {
    io->res = res;
    io->status = NvmeStatus{status};
  }
  if (result != 0) io->result = result;
  NVME_MPATH_ASSERT(io->priv.children_left != 0);
  return --io->priv.children_left == 0;
}

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_IO_CHAIN_H_
