// File: completion_action.h
//
// What a queue does with a command whose completion was not a plain success, once Decide()
// (disposition.h) has said what the completion means: the userspace counterpart of the kernel's
// nvme_complete_rq() switch, whose cases are nvme_end_req() (finish), nvme_retry_req() (the same
// path again, after crdt[crd-1] x 100 ms) and nvme_failover_req() (another path), plus the two
// waits the kernel does not have: the write hold (a write that may still execute on the failing
// path is resent only after the target must have torn that association down, write_hold.h) and
// head mode's resend backoff (HeadResendDelayNs).
//
// NextAction() is a pure function of the decision, the completion and a few facts about the
// command and its path; the queue applies the result (counters, the path error report, the
// command's state). Allocation-free: it runs on the error path of every completion.
#ifndef NVME_MPATH_SRC_COMPLETION_ACTION_H_
#define NVME_MPATH_SRC_COMPLETION_ACTION_H_

#include <cstdint>

#include <nvme_mpath/io.h>

#include "command_pool.h"
#include "disposition.h"
#include "path.h"

namespace nvme_mpath::internal {

// Head mode: the delay before a command that failed over is sent to the head again, by the
// number of attempts so far: 1 ms, doubling, at most 256 ms. The kernel's view (ANA state from
// its AEN handling, controller state) usually changes within that; when it does not, the
// backoff keeps the resends of one command to a few per second until its I/O deadline.
constexpr int64_t HeadResendDelayNs(uint32_t attempt) {
  return int64_t{1'000'000} << (attempt < 8 ? attempt : 8);
}

// Our own resource shortage (-EAGAIN, -EBUSY, -ENOMEM, -EFAULT): the same path again after
// 1 ms, doubling with each retry of the command (1, 2, 4, 8, 16 ms with the default budget of
// 5). A burst, such as a failover moving a whole path's commands at once, can leave the kernel
// short of resources for longer than 1 ms. On 6.12 a command punted to io-wq (no tag free, or
// a queue frozen by a reset) may have its data address truncated to 32 bits and fail with
// -EFAULT; 6.1 gave one -EFAULT at an ANA flip under QD 512 (lab.load), its cause not traced
// (docs/kernels.md). Spacing the retries lets the burst drain.
inline constexpr int64_t kErrnoRetryDelayNs = 1'000'000;
constexpr int64_t ErrnoRetryDelayNs(uint32_t retries) {
  return kErrnoRetryDelayNs << (retries < 4 ? retries : 4);
}

// Returns the NVMe status a completion `res` carries (0 for -errno and success): the status an
// I/O that fails with it reports (Io::status).
constexpr uint16_t StatusOf(int res) { return res > 0 ? static_cast<uint16_t>(res) : 0; }

// Returns the errno an I/O reports when a command completed with `res` and finishes with it:
// the kernel's -errno as it came, -EIO for an NVMe status.
constexpr int ErrnoOf(int res) { return res < 0 ? res : -EIO; }

// Returns Decide() for a completion `res` of a command of `io` already retried `retries` times:
// a raw command the caller did not mark idempotent is sent again only when it did not execute
// (Resend::kIfNotExecuted), and in head mode (`head`) -EINVAL from a command the engine built
// is the kernel's "no usable path".
inline Decision DecideFor(const Io& io, int res, uint32_t retries, uint32_t max_retries,
                          bool head) {
  const bool raw = io.op == IoOp::kRaw;
  return Decide(res, retries, max_retries,
                raw && !io.raw.idempotent ? Resend::kIfNotExecuted : Resend::kAllowed,
                head && !raw);
}

// What the queue does with the command.
enum class Step : uint8_t {
  kFinish,         // complete the command with `res`, `status`, `result`
  kRetryNow,       // the same path again at once (a retry: counted, uses the budget)
  kRetryLater,     // the same path again at `due_ns` (DelayKind::kRetry)
  kFailoverNow,    // another path at once
  kFailoverLater,  // another path at `due_ns`, after `delay_kind` (kWriteHold or kRetry)
};

struct CompletionAction {
  Step step = Step::kFinish;
  // A failover row (kFailover, kAnaFailover, kPathGone) of an I/O still in time: the queue
  // reports the path error (set aside, ANA re-read, reopen, marginal count) before it acts,
  // even when the command is not resent (Decision::resend false: kFinish).
  bool report_path_error = false;
  int res = 0;          // kFinish: the command's errno (0 never: a success is not an action)
  uint16_t status = 0;  // kFinish: the NVMe status the I/O reports
  uint32_t result = 0;  // kFinish: the completion's result dword (0 at the I/O deadline)
  DelayKind delay_kind = DelayKind::kRetry;  // k*Later
  int64_t due_ns = 0;                        // k*Later
};

// The facts NextAction() needs besides the completion.
struct FailedCommand {
  int64_t now = 0;
  bool expired = false;        // its I/O is past the I/O deadline (IoDeadline::Expired)
  bool modifies_data = false;  // ModifiesData(io) (command_builder.h): the write hold applies
  bool head = false;           // QueueConfig::head: a failover resends to the head, backed off
  uint8_t attempt = 0;         // attempts so far (head mode's backoff)
  int64_t write_hold_ns = -1;  // QueueConfig::write_hold_ns: -1 = the path's own rule
  uint8_t retries = 0;         // same-path retries so far (the -errno backoff)
};

// Returns what to do with a command of path `ps` that completed with `res` (result dword
// `result`), which Decide() judged `d` (not d.ok):
//   kComplete                        -> kFinish with ErrnoOf(res)
//   kRetrySamePath, I/O out of time  -> kFinish with ErrnoOf(res)
//   kRetrySamePath                   -> kRetryNow, or kRetryLater: after crdt[crd-1] x 100 ms for
//                                       a status with CRD set (the kernel's nvme_retry_req),
//                                       after ErrnoRetryDelayNs(retries) for -errno
//   failover row, out of time, resend allowed -> kFinish with -ETIMEDOUT (no path error report)
//   failover row, !d.resend          -> report, kFinish with ErrnoOf(res)
//   failover row, a write that MayStillExecute(res) -> report, kFailoverLater (kWriteHold) at
//                                       now + the write hold (the option, else ps.write_hold_ns)
//   failover row, head mode          -> report, kFailoverLater (kRetry) at
//                                       now + HeadResendDelayNs(attempt)
//   failover row                     -> report, kFailoverNow
// Reads only the fields of `ps` the row needs (crdt, write_hold_ns).
CompletionAction NextAction(const Decision& d, int res, uint32_t result, const FailedCommand& f,
                            const PathState& ps);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_COMPLETION_ACTION_H_
