// File: nvme_mpath/status.h
//
// Decoding of an NVMe passthrough completion (`cqe->res` of an IORING_OP_URING_CMD) and the
// disposition table that decides what the engine does next with it. This is the userspace
// counterpart of the kernel's nvme_decide_disposition() and SPDK's
// bdev_nvme_io_complete_nvme_status(). Everything here is a pure function, allocation-free and
// safe to call on the hot path.
#ifndef NVME_MPATH_STATUS_H_
#define NVME_MPATH_STATUS_H_

#include <cstdint>

namespace nvme_mpath {

// Status Code Type values (NVMe Base Specification, "Status Code Type Values").
inline constexpr uint8_t kSctGeneric = 0;
inline constexpr uint8_t kSctCommandSpecific = 1;
inline constexpr uint8_t kSctMediaError = 2;
inline constexpr uint8_t kSctPath = 3;
inline constexpr uint8_t kSctVendor = 7;

// Path-related status codes (SCT 3), as 11-bit SCT/SC values.
inline constexpr uint16_t kScInternalPathError = 0x300;
inline constexpr uint16_t kScAnaPersistentLoss = 0x301;
inline constexpr uint16_t kScAnaInaccessible = 0x302;
inline constexpr uint16_t kScAnaTransition = 0x303;
inline constexpr uint16_t kScCtrlPathError = 0x360;
inline constexpr uint16_t kScHostPathError = 0x370;
inline constexpr uint16_t kScHostAbortedCmd = 0x371;

// Bits of the status field as the kernel reports it in cqe->res (phase bit already dropped).
inline constexpr int kStatusCodeMask = 0x7ff;  // SCT (10:8) + SC (7:0)
inline constexpr int kStatusCrdMask = 0x1800;
inline constexpr int kStatusCrdShift = 11;
inline constexpr int kStatusMore = 0x2000;
inline constexpr int kStatusDnr = 0x4000;

// A decoded NVMe completion status. Trivially copyable; `raw == 0` means success.
struct NvmeStatus {
  uint16_t raw = 0;  // as in cqe->res: SC | SCT<<8 | CRD<<11 | MORE<<13 | DNR<<14
  constexpr uint8_t sc() const { return raw & 0xff; }
  constexpr uint8_t sct() const { return (raw >> 8) & 0x7; }
  constexpr uint8_t crd() const { return (raw & kStatusCrdMask) >> kStatusCrdShift; }
  constexpr bool more() const { return raw & kStatusMore; }
  constexpr bool dnr() const { return raw & kStatusDnr; }
  // Returns SCT<<8 | SC: the value to compare with the kSc* constants.
  constexpr uint16_t code() const { return raw & kStatusCodeMask; }
  constexpr bool ok() const { return code() == 0; }
  constexpr bool is_path_error() const { return sct() == kSctPath; }
  constexpr bool is_ana_error() const {
    return code() == kScAnaPersistentLoss || code() == kScAnaInaccessible ||
           code() == kScAnaTransition;
  }
};

// What the engine does with a completion. Mirrors the kernel's COMPLETE/RETRY/FAILOVER with the
// two extra cases a userspace engine must handle itself.
enum class Disposition : uint8_t {
  kComplete,       // success, or an error the application must see (media, command, DNR)
  kRetrySamePath,  // transient: retry on the same path, after crdt[crd-1] x 100 ms if CRD is set
  kFailover,       // path error: resubmit on another usable path
  kAnaFailover,    // ANA error: set the path aside, re-read ANA now, then fail over
  kPathGone,       // -ENODEV/-ENXIO: controller deleted; close, rediscover, reopen; fail over
};

// Returns the disposition of one passthrough completion, before retry budgets are applied.
//   res == 0                       -> kComplete
//   res < 0 (-errno from the kernel):
//     -ENODEV, -ENXIO              -> kPathGone
//     -EINTR, -EIO, -ETIMEDOUT, -ECANCELED, -ECONNRESET, -ENOLINK, -ESHUTDOWN -> kFailover
//     -EAGAIN, -EBUSY, -ENOMEM     -> kRetrySamePath (resource shortage on our side)
//     -EFAULT                      -> kRetrySamePath (seen when a controller reset catches a
//                                     passthrough command; a bad buffer fails after the budget)
//     anything else (-EINVAL, -EOPNOTSUPP, ...) -> kComplete (caller error)
//   res > 0 (NVMe status):
//     DNR set                      -> kComplete
//     0x301/0x302/0x303            -> kAnaFailover
//     any other SCT 3              -> kFailover
//     generic 0x22 transient transport error -> kFailover
//     CRD != 0, or generic 0x82 namespace not ready -> kRetrySamePath
//     anything else                -> kComplete
Disposition Classify(int res);

// Returns true when a command that completed with `res` may still execute on the target later
// (it was sent, then lost or cancelled by the host): a write that failed so must not be
// resubmitted elsewhere until that path can no longer execute it.
bool MayStillExecute(int res);

// Returns a stable upper-case name for a cqe->res value: "SUCCESS", "ANA_INACCESSIBLE",
// "HOST_PATH_ERROR", "-ENODEV", "NVME_STATUS" for unknown codes. Never returns null.
const char* StatusName(int res);

// Returns the name of a disposition: "complete", "retry", "failover", "ana-failover", "reopen".
const char* DispositionName(Disposition d);

}  // namespace nvme_mpath

#endif  // NVME_MPATH_STATUS_H_
