// File: completion_action.cc
//
// NextAction(): what the queue does with a command that did not simply succeed.
#include "completion_action.h"

#include <cerrno>

#include <nvme_mpath/status.h>

#include "debug_assert.h"

namespace nvme_mpath::internal {
namespace {

CompletionAction Finish(int res, uint16_t status, uint32_t result, bool report = false) {
  CompletionAction a;
  a.step = Step::kFinish;
  a.report_path_error = report;
  a.res = res;
  a.status = status;
  a.result = result;
  return a;
}

CompletionAction Later(Step step, DelayKind kind, int64_t due_ns, bool report) {
  CompletionAction a;
  a.step = step;
  a.report_path_error = report;
  a.delay_kind = kind;
  a.due_ns = due_ns;
  return a;
}

// The kernel's nvme_retry_req(): crdt[crd-1] x 100 ms for a status with CRD set, at once for one
// without; our own -errno (a request not allocated) after ErrnoRetryDelayNs().
int64_t RetryDelayNs(int res, uint32_t retries, const PathState& ps) {
  if (res < 0) return ErrnoRetryDelayNs(retries);
  const uint8_t crd = NvmeStatus{static_cast<uint16_t>(res)}.crd();
  return crd != 0 ? int64_t{ps.crdt[crd - 1]} * 100'000'000 : 0;
}

}  // namespace

CompletionAction NextAction(const Decision& d, int res, uint32_t result, const FailedCommand& f,
                            const PathState& ps) {
  NVME_MPATH_ASSERT(!d.ok && res != 0);
  const uint16_t status = StatusOf(res);
  switch (d.disposition) {
    case Disposition::kComplete:
      return Finish(ErrnoOf(res), status, result);
    case Disposition::kRetrySamePath: {
      if (f.expired) return Finish(ErrnoOf(res), status, result);
      const int64_t delay = RetryDelayNs(res, f.retries, ps);
      if (delay == 0) return Later(Step::kRetryNow, DelayKind::kRetry, 0, false);
      return Later(Step::kRetryLater, DelayKind::kRetry, f.now + delay, false);
    }
    case Disposition::kFailover:
    case Disposition::kAnaFailover:
    case Disposition::kPathGone:
      break;
  }
  // A failover row. Out of time, a command that could be resent is not: the I/O fails with
  // -ETIMEDOUT, and the path error is not reported (it says no more than the deadline).
  if (f.expired && d.resend) return Finish(-ETIMEDOUT, status, 0);
  if (!d.resend) return Finish(ErrnoOf(res), status, result, /*report=*/true);
  if (f.modifies_data && MayStillExecute(res)) {
    // The write may still land on the failing path: resend only once that path can no longer
    // execute it (the target must have torn the association down; or, with
    // write_hold_release_on_reset, the controller was reset or deleted since: the queue's
    // timer pass ends such a hold early).
    const int64_t hold =
        f.write_hold_ns >= 0 ? f.write_hold_ns : ps.write_hold_ns.load(std::memory_order_relaxed);
    return Later(Step::kFailoverLater, DelayKind::kWriteHold, f.now + hold, true);
  }
  // Head mode: the only path is the head; give the kernel's view a moment to change.
  if (f.head)
    return Later(Step::kFailoverLater, DelayKind::kRetry, f.now + HeadResendDelayNs(f.attempt),
                 true);
  return Later(Step::kFailoverNow, DelayKind::kRetry, 0, true);
}

}  // namespace nvme_mpath::internal
