// File: status.cc
//
// Names of completion statuses (see nvme_mpath/status.h). The disposition table is in
// disposition.cc.
#include <nvme_mpath/status.h>

#include <cerrno>

namespace nvme_mpath {

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
      case -EBADF: return "-EBADF";
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
    case kScSqDeletion: return "ABORT_SQ_DELETION";
    case 0x00b: return "INVALID_NS";
    case 0x00d: return "CMD_SEQ_ERROR";
    case 0x020: return "NS_WRITE_PROTECTED";
    case kScTransientTransport: return "TRANSIENT_TRANSPORT";
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

}  // namespace nvme_mpath
