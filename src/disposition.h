// File: disposition.h
//
// The disposition table: what the engine does with one passthrough completion (`cqe->res` of an
// IORING_OP_URING_CMD), the userspace counterpart of the kernel's nvme_decide_disposition()
// (drivers/nvme/host/core.c) with nvme_is_path_error() (nvme.h) deciding the failovers, and of
// SPDK's bdev_nvme_io_complete_nvme_status(). It is the engine's only classifier: the queue's
// completion path, the per-path error counters and nvme-mpath-ctl's probe all read it, and the
// retry budget is decided inside it, as in the kernel. docs/architecture.md ("Failure handling")
// has the table side by side with the kernel's, each row with its unit test.
//
// Pure functions over plain values: allocation-free and safe on the hot path (the queue calls
// Decide() only for completions that are not a plain success).
#ifndef NVME_MPATH_SRC_DISPOSITION_H_
#define NVME_MPATH_SRC_DISPOSITION_H_

#include <cstdint>

#include <nvme_mpath/stats.h>
#include <nvme_mpath/status.h>

namespace nvme_mpath::internal {

// What the engine does with a completion. Mirrors the kernel's COMPLETE/RETRY/FAILOVER with the
// two extra cases a userspace engine must handle itself.
enum class Disposition : uint8_t {
  kComplete,       // success, or an error the application must see (DNR, budget spent, caller error)
  kRetrySamePath,  // retry on the same path, after crdt[crd-1] x 100 ms if CRD is set
  kFailover,       // path error: resubmit on another usable path
  kAnaFailover,    // ANA error: set the path aside, re-read ANA now, then fail over
  kPathGone,       // -ENODEV/-ENXIO: controller deleted; close, rediscover, reopen; fail over
};

// The decision for one completion.
struct Decision {
  Disposition disposition = Disposition::kComplete;
  // True for a success: res 0, or an NVMe status whose code (0x7ff) is 0 with only the More,
  // CRD or DNR bits set. The application then gets res 0.
  bool ok = true;
  // What the path returned, for the per-path counters (meaningful when !ok).
  ErrorClass error_class = ErrorClass::kOther;
};

// Returns the decision for a completion `res` of a command already retried `retries` times on
// the same path, with a budget of `max_retries` same-path retries:
//   res == 0, or an NVMe status with code 0       -> ok, kComplete
//   res < 0 (-errno from the kernel or io_uring):
//     -ENODEV, -ENXIO                             -> kPathGone
//     -EINTR, -ECANCELED, -EIO, -ETIMEDOUT, -ECONNRESET, -ENOLINK, -ESHUTDOWN,
//     -EBADF (file slot emptied between prep and submit)                      -> kFailover
//     -EAGAIN, -EBUSY, -ENOMEM, -EFAULT           -> kRetrySamePath while retries < max_retries,
//                                                    then kComplete
//     anything else (-EINVAL, -EOPNOTSUPP, ...)   -> kComplete (caller error)
//   res > 0 (NVMe status):
//     DNR set                                     -> kComplete
//     0x301/0x302/0x303 (ANA)                     -> kAnaFailover
//     any other SCT 3 (path related)              -> kFailover
//     0x022 transient transport, 0x008 aborted due to SQ deletion -> kFailover
//     anything else (CRD or not: media, command, generic) -> kRetrySamePath while
//                                                    retries < max_retries, then kComplete
// Failovers do not use the budget (they are bounded by the I/O deadline and the no-path timeout).
Decision Decide(int res, uint32_t retries, uint32_t max_retries);

// Returns true when a command that completed with `res` may still execute on the target later
// (it was sent, then lost or cancelled by the host): a write that failed so must not be
// resubmitted elsewhere until that path can no longer execute it (the write hold). Reads the
// same errno table as Decide().
bool MayStillExecute(int res);

// Returns the name of a disposition: "complete", "retry", "failover", "ana-failover", "reopen".
const char* DispositionName(Disposition d);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_DISPOSITION_H_
