// File: status.cc
//
// The disposition table (see nvme_mpath/status.h). Pure functions, unit-tested row by row.
#include <nvme_mpath/status.h>

#include <cerrno>

namespace nvme_mpath {

Disposition Classify(int res) {
  if (res == 0) return Disposition::kComplete;
  if (res < 0) {
    // Compare with negative constants: negating INT_MIN would overflow.
    switch (res) {
      case -ENODEV:
      case -ENXIO:
        return Disposition::kPathGone;
      case -EINTR:
      case -EIO:
      case -ETIMEDOUT:
      case -ECANCELED:
      case -ECONNRESET:
      case -ENOLINK:
      case -ESHUTDOWN:
        return Disposition::kFailover;
      case -EAGAIN:
      case -EBUSY:
      case -ENOMEM:
      // Seen in the lab from passthrough commands caught by a controller reset (6.1); a
      // genuinely bad buffer still fails, after max_retries.
      case -EFAULT:
        return Disposition::kRetrySamePath;
      default:
        return Disposition::kComplete;
    }
  }
  const NvmeStatus st{static_cast<uint16_t>(res)};
  if (st.ok()) return Disposition::kComplete;  // only MORE/CRD bits set: treat as success
  if (st.dnr()) return Disposition::kComplete;
  if (st.is_ana_error()) return Disposition::kAnaFailover;
  if (st.is_path_error()) return Disposition::kFailover;
  if (st.code() == 0x022) return Disposition::kFailover;  // transient transport error
  if (st.crd() != 0 || st.code() == 0x082) return Disposition::kRetrySamePath;
  return Disposition::kComplete;
}

bool MayStillExecute(int res) {
  if (res < 0) {
    // Cancelled in flight by a reset or our own timeout: the target may have it queued.
    return res == -EINTR || res == -EIO || res == -ETIMEDOUT || res == -ECANCELED ||
           res == -ECONNRESET;
  }
  // 0x371: aborted by the host after it was sent. 0x370 is raised before sending (controller
  // not live) and ANA errors are the target's own refusal: both are safe to resend at once.
  return (res & kStatusCodeMask) == kScHostAbortedCmd;
}

const char* StatusName(int res) {
  if (res == 0) return "SUCCESS";
  if (res < 0) {
    switch (res) {  // negative constants: -INT_MIN would overflow
      case -EINTR: return "-EINTR";
      case -EIO: return "-EIO";
      case -ENODEV: return "-ENODEV";
      case -ENXIO: return "-ENXIO";
      case -ETIMEDOUT: return "-ETIMEDOUT";
      case -ECANCELED: return "-ECANCELED";
      case -ECONNRESET: return "-ECONNRESET";
      case -ENOLINK: return "-ENOLINK";
      case -ESHUTDOWN: return "-ESHUTDOWN";
      case -EAGAIN: return "-EAGAIN";
      case -EBUSY: return "-EBUSY";
      case -ENOMEM: return "-ENOMEM";
      case -EINVAL: return "-EINVAL";
      case -EFAULT: return "-EFAULT";
      case -EACCES: return "-EACCES";
      case -EPERM: return "-EPERM";
      case -ENOTTY: return "-ENOTTY";
      case -EOPNOTSUPP: return "-EOPNOTSUPP";
      case -ERANGE: return "-ERANGE";
      case -ENOSPC: return "-ENOSPC";
      default: return "-ERRNO";
    }
  }
  switch (res & kStatusCodeMask) {
    case 0x000: return "SUCCESS";
    case 0x001: return "INVALID_OPCODE";
    case 0x002: return "INVALID_FIELD";
    case 0x004: return "DATA_XFER_ERROR";
    case 0x006: return "INTERNAL";
    case 0x007: return "ABORT_REQ";
    case 0x00b: return "INVALID_NS";
    case 0x00d: return "CMD_SEQ_ERROR";
    case 0x020: return "NS_WRITE_PROTECTED";
    case 0x022: return "TRANSIENT_TRANSPORT";
    case 0x080: return "LBA_RANGE";
    case 0x081: return "CAP_EXCEEDED";
    case 0x082: return "NS_NOT_READY";
    case 0x280: return "WRITE_FAULT";
    case 0x281: return "READ_ERROR";
    case 0x282: return "GUARD_CHECK";
    case 0x283: return "APPTAG_CHECK";
    case 0x284: return "REFTAG_CHECK";
    case 0x285: return "COMPARE_FAILED";
    case 0x286: return "ACCESS_DENIED";
    case 0x287: return "UNWRITTEN_BLOCK";
    case kScInternalPathError: return "INTERNAL_PATH_ERROR";
    case kScAnaPersistentLoss: return "ANA_PERSISTENT_LOSS";
    case kScAnaInaccessible: return "ANA_INACCESSIBLE";
    case kScAnaTransition: return "ANA_TRANSITION";
    case kScCtrlPathError: return "CTRL_PATH_ERROR";
    case kScHostPathError: return "HOST_PATH_ERROR";
    case kScHostAbortedCmd: return "HOST_ABORTED_CMD";
    default: return "NVME_STATUS";
  }
}

const char* DispositionName(Disposition d) {
  switch (d) {
    case Disposition::kComplete: return "complete";
    case Disposition::kRetrySamePath: return "retry";
    case Disposition::kFailover: return "failover";
    case Disposition::kAnaFailover: return "ana-failover";
    case Disposition::kPathGone: return "reopen";
  }
  return "?";
}

}  // namespace nvme_mpath
