// File: nvme_mpath/status.h
//
// Decoding of an NVMe passthrough completion (`cqe->res` of an IORING_OP_URING_CMD): the status
// fields an application sees in Io::status, and their names. What the engine does with a
// completion (retry, fail over, complete) is its private disposition table (src/disposition.h,
// documented in docs/architecture.md). Everything here is a pure function, allocation-free and
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

// Generic status codes (SCT 0) the engine treats as path errors, as 11-bit SCT/SC values.
inline constexpr uint16_t kScSqDeletion = 0x008;          // command aborted due to SQ deletion
inline constexpr uint16_t kScTransientTransport = 0x022;  // transient transport error

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

// Returns a stable upper-case name for a cqe->res value: "SUCCESS", "ANA_INACCESSIBLE",
// "HOST_PATH_ERROR", "-ENODEV", "NVME_STATUS" for unknown codes. Never returns null.
const char* StatusName(int res);

}  // namespace nvme_mpath

#endif  // NVME_MPATH_STATUS_H_
