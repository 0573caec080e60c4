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
  // False on a failover row (kFailover, kAnaFailover, kPathGone) for a command that must not be
  // sent again (Resend::kIfNotExecuted, MayHaveExecuted): the path action is taken (set the path
  // aside, re-read ANA, reopen) but the command completes with its status instead of failing
  // over. True otherwise.
  bool resend = true;
};

// Whether a failed command may be sent again, on the same path or another.
enum class Resend : uint8_t {
  // Reads, writes and every other command the engine builds itself, and raw commands the caller
  // marked idempotent (Io::Raw::idempotent): retried and failed over as the table says.
  kAllowed,
  // A raw command not marked idempotent (a Zone Append, a reservation, a vendor command): sent
  // again only when its completion proves it did not execute (!MayHaveExecuted(res)); otherwise
  // it completes with its status, as the kernel's passthrough path does.
  kIfNotExecuted,
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
// With `resend` kIfNotExecuted and MayHaveExecuted(res): kRetrySamePath becomes kComplete, and a
// failover row keeps its disposition with Decision::resend false.
// With `einval_is_no_path` (head mode, a command the engine built and validated), -EINVAL is the
// kernel's "no usable path" at submission (nvme_ns_head_chr_uring_cmd): kFailover, not executed.
Decision Decide(int res, uint32_t retries, uint32_t max_retries,
                Resend resend = Resend::kAllowed, bool einval_is_no_path = false);

// Returns true when a command that completed with `res` may still execute on the target later
// (it was sent, then lost or cancelled by the host): a write that failed so must not be
// resubmitted elsewhere until that path can no longer execute it (the write hold). Reads the
// same errno table as Decide().
bool MayStillExecute(int res);

// Returns true when a command that failed with `res` may have executed on the target, in whole or
// in part: it is false only when the completion proves the target never executed it, which
// decides whether a command that must not run twice may be sent again (Resend::kIfNotExecuted):
//   not executed: 0x370 host path error (raised by the host before sending: controller not
//     live), 0x301/0x302/0x303 ANA (the target refused it), -EBADF (the file slot was empty at
//     submission), -ENODEV/-ENXIO (the namespace's queue was gone at submission), and our own
//     resource shortage -EAGAIN/-EBUSY/-ENOMEM (no request was allocated);
//   may have executed: everything else. Every MayStillExecute() value (-EINTR, -ECANCELED,
//     -EIO, -ETIMEDOUT, -ECONNRESET, 0x371: sent, then lost or cancelled); -ENOLINK, -ESHUTDOWN
//     and -EFAULT (from the block layer after the request was issued; -EFAULT is also seen from
//     commands caught by a reset); 0x008 (aborted by the controller, possibly part way), 0x022,
//     0x300, 0x360 (a path fault after the command may have reached the controller); every other
//     status (the controller processed the command and answered); an errno not in the table.
// MayStillExecute(res) implies MayHaveExecuted(res). Reads the same errno table as Decide().
bool MayHaveExecuted(int res);

// Returns the name of a disposition: "complete", "retry", "failover", "ana-failover", "reopen".
const char* DispositionName(Disposition d);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_DISPOSITION_H_
