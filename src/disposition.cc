// File: disposition.cc
//
// The disposition table (see disposition.h). Pure functions, unit-tested row by row
// (tests/unit/disposition_test.cc) and fuzzed (tests/fuzz/status_fuzz.cc).
#include "disposition.h"

#include <cerrno>

namespace nvme_mpath::internal {
namespace {

// One -errno the engine knows. Every errno decision (disposition, error class, write hold,
// resend of a raw command) is read from this one table; an errno not in it is a caller error
// completed as is.
struct ErrnoRow {
  int res;  // negative
  Disposition disposition;
  ErrorClass error_class;
  bool may_still_execute;  // sent, and possibly still queued on the target
  bool may_have_executed;  // possibly executed, in whole or in part (implied by the above)
};

constexpr ErrnoRow kErrnoRows[] = {
    // Controller deleted: the held fd is dead; the control plane reopens the path. Raised when
    // the command is submitted (the namespace's request queue is gone): it never executed.
    {-ENODEV, Disposition::kPathGone, ErrorClass::kGone, false, false},
    {-ENXIO, Disposition::kPathGone, ErrorClass::kGone, false, false},
    // Cancelled in flight by a controller reset or by our own command timeout (the kernel
    // reports a cancelled passthrough command as -EINTR): the target may still have it queued.
    {-EINTR, Disposition::kFailover, ErrorClass::kCancelled, true, true},
    {-ECANCELED, Disposition::kFailover, ErrorClass::kCancelled, true, true},
    // Transport errors of a command in flight.
    {-EIO, Disposition::kFailover, ErrorClass::kOtherPath, true, true},
    {-ETIMEDOUT, Disposition::kFailover, ErrorClass::kOtherPath, true, true},
    {-ECONNRESET, Disposition::kFailover, ErrorClass::kOtherPath, true, true},
    // The block layer's transport (-ENOLINK) and shutdown errors: treated as not sent, as the
    // engine always has (resent at once), but nothing proves that a raw command did not run.
    {-ENOLINK, Disposition::kFailover, ErrorClass::kOtherPath, false, true},
    {-ESHUTDOWN, Disposition::kFailover, ErrorClass::kOtherPath, false, true},
    // io_uring found the ring's file slot empty when it issued the SQE (the control plane closed
    // or replaced the path's fd between our prep and the submit): raised at submission, so the
    // command never reached the target.
    {-EBADF, Disposition::kFailover, ErrorClass::kOtherPath, false, false},
    // Resource shortage on our side (no request allocated): retry on the same path shortly.
    {-EAGAIN, Disposition::kRetrySamePath, ErrorClass::kOther, false, false},
    {-EBUSY, Disposition::kRetrySamePath, ErrorClass::kOther, false, false},
    {-ENOMEM, Disposition::kRetrySamePath, ErrorClass::kOther, false, false},
    // Seen in the lab from passthrough commands caught by a controller reset (6.1); a genuinely
    // bad buffer still fails, after max_retries. It may come after the command was sent.
    {-EFAULT, Disposition::kRetrySamePath, ErrorClass::kOther, false, true},
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

namespace {

// The table proper, for a command that may be sent again (Resend::kAllowed).
Decision DecideResendable(int res, uint32_t retries, uint32_t max_retries) {
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

}  // namespace

Decision Decide(int res, uint32_t retries, uint32_t max_retries, Resend resend,
                bool einval_is_no_path) {
  // Head mode: the kernel refused the command at submission, before any path saw it.
  if (res == -EINVAL && einval_is_no_path)
    return Decision{Disposition::kFailover, false, ErrorClass::kHostPath};
  Decision d = DecideResendable(res, retries, max_retries);
  if (resend == Resend::kAllowed || d.ok || !MayHaveExecuted(res)) return d;
  // A command that must not run twice and may have run: the application gets its status. A
  // failover row still takes its path action (the path did fail), without the resend.
  switch (d.disposition) {
    case Disposition::kComplete:
      break;
    case Disposition::kRetrySamePath:
      d.disposition = Disposition::kComplete;
      break;
    case Disposition::kFailover:
    case Disposition::kAnaFailover:
    case Disposition::kPathGone:
      d.resend = false;
      break;
  }
  return d;
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

bool MayHaveExecuted(int res) {
  if (res < 0) {
    const ErrnoRow* row = FindErrno(res);
    return row == nullptr || row->may_have_executed;
  }
  // 0x370 is raised by the host before sending; an ANA status is the target's refusal. Any other
  // status (0x371, 0x008, 0x022, 0x300, 0x360, and every status the controller answered with)
  // leaves open that the command ran, in whole or in part.
  const NvmeStatus st{static_cast<uint16_t>(res)};
  return !(st.code() == kScHostPathError || st.is_ana_error());
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
