// File: disposition.cc
//
// The disposition table (see disposition.h). Pure functions, unit-tested row by row
// (tests/unit/disposition_test.cc) and fuzzed (tests/fuzz/status_fuzz.cc).
#include "disposition.h"

#include <cerrno>

namespace nvme_mpath::internal {
namespace {

// One -errno the engine knows. Every errno decision (disposition, error class, write hold) is
// read from this one table; an errno not in it is a caller error completed as is.
struct ErrnoRow {
  int res;  // negative
  Disposition disposition;
  ErrorClass error_class;
  bool may_still_execute;  // sent, and possibly still queued on the target
};

constexpr ErrnoRow kErrnoRows[] = {
    // Controller deleted: the held fd is dead; the control plane reopens the path.
    {-ENODEV, Disposition::kPathGone, ErrorClass::kGone, false},
    {-ENXIO, Disposition::kPathGone, ErrorClass::kGone, false},
    // Cancelled in flight by a controller reset or by our own command timeout (the kernel
    // reports a cancelled passthrough command as -EINTR): the target may still have it queued.
    {-EINTR, Disposition::kFailover, ErrorClass::kCancelled, true},
    {-ECANCELED, Disposition::kFailover, ErrorClass::kCancelled, true},
    // Transport errors of a command in flight.
    {-EIO, Disposition::kFailover, ErrorClass::kOtherPath, true},
    {-ETIMEDOUT, Disposition::kFailover, ErrorClass::kOtherPath, true},
    {-ECONNRESET, Disposition::kFailover, ErrorClass::kOtherPath, true},
    // The block layer's transport (-ENOLINK) and shutdown errors: treated as not sent, as the
    // engine always has (resent at once).
    {-ENOLINK, Disposition::kFailover, ErrorClass::kOtherPath, false},
    {-ESHUTDOWN, Disposition::kFailover, ErrorClass::kOtherPath, false},
    // io_uring found the ring's file slot empty when it issued the SQE (the control plane closed
    // or replaced the path's fd between our prep and the submit): raised at submission, so the
    // command never reached the target.
    {-EBADF, Disposition::kFailover, ErrorClass::kOtherPath, false},
    // Resource shortage on our side: retry on the same path shortly.
    {-EAGAIN, Disposition::kRetrySamePath, ErrorClass::kOther, false},
    {-EBUSY, Disposition::kRetrySamePath, ErrorClass::kOther, false},
    {-ENOMEM, Disposition::kRetrySamePath, ErrorClass::kOther, false},
    // Seen in the lab from passthrough commands caught by a controller reset (6.1); a genuinely
    // bad buffer still fails, after max_retries.
    {-EFAULT, Disposition::kRetrySamePath, ErrorClass::kOther, false},
};

// Returns the row of `res` (< 0), or null. Compares with negative constants: negating INT_MIN
// would overflow.
const ErrnoRow* FindErrno(int res) {
  for (const ErrnoRow& row : kErrnoRows)
    if (row.res == res) return &row;
  return nullptr;
}

ErrorClass ClassOfStatus(NvmeStatus st) {
  if (st.is_ana_error()) return ErrorClass::kAna;
  switch (st.code()) {
    case kScHostPathError: return ErrorClass::kHostPath;
    case kScHostAbortedCmd: return ErrorClass::kHostAborted;
    case kScSqDeletion: return ErrorClass::kCancelled;
    case kScTransientTransport: return ErrorClass::kOtherPath;
    default: break;
  }
  if (st.is_path_error()) return ErrorClass::kOtherPath;
  if (st.sct() == kSctMediaError) return ErrorClass::kMedia;
  return ErrorClass::kOther;
}

}  // namespace

Decision Decide(int res, uint32_t retries, uint32_t max_retries) {
  if (res == 0) return Decision{};
  const bool budget_left = retries < max_retries;
  if (res < 0) {
    const ErrnoRow* row = FindErrno(res);
    if (row == nullptr) return Decision{Disposition::kComplete, false, ErrorClass::kOther};
    Disposition d = row->disposition;
    if (d == Disposition::kRetrySamePath && !budget_left) d = Disposition::kComplete;
    return Decision{d, false, row->error_class};
  }
  const NvmeStatus st{static_cast<uint16_t>(res)};
  if (st.ok()) return Decision{};  // only More/CRD/DNR bits: a success
  const ErrorClass cls = ClassOfStatus(st);
  // As nvme_decide_disposition: DNR (and a spent budget, below) complete before anything else.
  if (st.dnr()) return Decision{Disposition::kComplete, false, cls};
  if (st.is_ana_error()) return Decision{Disposition::kAnaFailover, false, cls};
  // nvme_is_path_error() (SCT 3), plus two generic statuses that say the path, not the
  // command, failed: a transient transport error, and an abort because the host deleted the
  // submission queue (a controller reset, e.g. of one port of a dual-port PCIe device).
  if (st.is_path_error() || st.code() == kScTransientTransport || st.code() == kScSqDeletion)
    return Decision{Disposition::kFailover, false, cls};
  // Everything else without DNR: the kernel's RETRY (CRD delay applied by the caller).
  return Decision{budget_left ? Disposition::kRetrySamePath : Disposition::kComplete, false, cls};
}

bool MayStillExecute(int res) {
  if (res < 0) {
    const ErrnoRow* row = FindErrno(res);
    return row != nullptr && row->may_still_execute;
  }
  // 0x371: aborted by the host after it was sent. Not held: 0x370 (raised before sending,
  // controller not live), ANA errors (the target's own refusal), and 0x008: the controller
  // itself aborted the command and posts that completion only once nothing of it is pending
  // (Delete I/O SQ completes after every command of the queue), so it cannot land later.
  return (res & kStatusCodeMask) == kScHostAbortedCmd;
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

}  // namespace nvme_mpath::internal
