// File: transport.h
//
// The batch submit/reap interface between a Queue and the kernel: the test seam. The real one is
// UringTransport (io_uring + NVMe uring_cmd); tests use FakeTransport (tests/support).
//
// Threading model: a Transport belongs to one Queue and is used by one thread at a time (the
// queue's). A transport that cannot serve the calling thread says so with -EEXIST (see
// uring_transport.h): it never reports "nothing happened" instead.
#ifndef NVME_MPATH_SRC_TRANSPORT_H_
#define NVME_MPATH_SRC_TRANSPORT_H_

#include <linux/nvme_ioctl.h>

#include <cstdint>
#include <cstring>

#include "absl/status/status.h"

#include <nvme_mpath/engine.h>  // kMaxEnginePaths

namespace nvme_mpath::internal {

// One reaped completion.
struct Completion {
  uint64_t tag = 0;     // the user_data given to Prep()
  int32_t res = 0;      // cqe->res: 0, NVMe status (>0) or -errno
  uint64_t result = 0;  // big_cqe[0]: the command's result dword(s)
};

// A submission entry reserved for one command (Transport::Reserve()): where its NVMe command
// goes, or why there is none.
struct CmdSlot {
  nvme_uring_cmd* cmd = nullptr;  // null when refused
  int err = 0;                    // 0; or, when refused, -EBUSY or -EBADF (see Reserve())
};

// Largest number of paths (file slots) a transport serves: the engine's limit, the one number
// every per-path array (path table, snapshot, counters, tag bits) is sized by.
inline constexpr int kMaxPaths = static_cast<int>(kMaxEnginePaths);

class Transport {
 public:
  virtual ~Transport() = default;

  // Prepares one command on file slot `path` (0..kMaxPaths-1) with user_data `tag`, and returns
  // where the command goes: the command area of its submission entry (io_uring_get_sqe() and
  // its prep in one), so that the caller builds the command in place instead of copying it
  // there. The caller writes the whole nvme_uring_cmd before its next call on this transport;
  // the entry is prepared from then on (Submit() sends it). `fixed_buf_index` >= 0 selects a
  // registered buffer (IORING_URING_CMD_FIXED). Refused, with nothing prepared: -EBUSY when no
  // submission slot is free (call Submit() and Reap() first), -EBADF when the slot has no file.
  virtual CmdSlot Reserve(int path, uint64_t tag, int fixed_buf_index) = 0;
  // Reserve() with a built command copied in: returns 0 or Reserve()'s -errno.
  int Prep(int path, const nvme_uring_cmd& cmd, uint64_t tag, int fixed_buf_index) {
    const CmdSlot s = Reserve(path, tag, fixed_buf_index);
    if (s.cmd != nullptr) std::memcpy(s.cmd, &cmd, sizeof(cmd));
    return s.err;
  }
  // Sends prepared commands to the kernel, oldest first. Returns the number the kernel took,
  // which may be fewer than were prepared (a short submit): the others stay prepared, in order,
  // and go with the next Submit(). Or returns -errno, and none were taken: -EAGAIN / -EBUSY /
  // -ENOMEM when the kernel is short of resources (retry after reaping), -EEXIST when the
  // calling thread may not use this transport; the prepared commands stay prepared.
  virtual int Submit() = 0;
  // Copies up to `max` completions into `out`. With `wait_ns` != 0, first waits (up to wait_ns,
  // < 0 forever) for at least `min` completions to be available. Returns the number copied, or
  // -errno (-ETIME when the wait timed out with nothing to reap is reported as 0; -EEXIST when
  // the calling thread may not use this transport).
  virtual int Reap(Completion* out, int max, int min, int64_t wait_ns) = 0;
  // Turns every prepared command the kernel has not taken yet into one that will never reach a
  // device, and stores their tags (up to `max`, oldest first) in `tags`. Returns how many; call
  // again while it returns `max`. Each still completes later, with its tag and res 0, so a
  // caller that has reused the tag's command slot must see that completion as stale. Returns 0
  // when the transport cannot take commands back (SQPOLL: the kernel thread may be reading them).
  virtual int DropUnsent(uint64_t* tags, int max) = 0;
  // Installs `fd` in file slot `path` (-1 empties it). Commands already in flight on the old
  // file are unaffected and still complete.
  virtual absl::Status SetFile(int path, int fd) = 0;
  // Returns an fd that polls readable when completions are pending, or -1.
  virtual int event_fd() const = 0;
};

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_TRANSPORT_H_
