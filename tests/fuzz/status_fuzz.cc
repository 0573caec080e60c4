// libFuzzer target: the status decoder and the disposition table (src/disposition.h), with the
// invariants the engine relies on. Input: 4 bytes cqe->res, then optionally one byte each of
// the command's same-path retries so far and the retry budget (default 0 and 5).
#include <cerrno>
#include <cstring>

#include <nvme_mpath/status.h>

#include "disposition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nvme_mpath;
  using internal::Decide;
  using internal::Disposition;
  if (size < 4) return 0;
  int32_t res;
  memcpy(&res, data, 4);
  const uint32_t retries = size > 4 ? data[4] : 0;
  const uint32_t budget = size > 5 ? data[5] : 5;
  const internal::Decision dec = Decide(res, retries, budget);
  const Disposition d = dec.disposition;
  if (StatusName(res) == nullptr || internal::DispositionName(d) == nullptr) __builtin_trap();
  const bool may_still_execute = internal::MayStillExecute(res);
  const bool failover = d == Disposition::kFailover || d == Disposition::kAnaFailover ||
                        d == Disposition::kPathGone;
  // Success (res 0, or a status whose code is 0) completes with 0; nothing else does.
  const bool success = res == 0 || (res > 0 && (res & kStatusCodeMask) == 0);
  if (dec.ok != success) __builtin_trap();
  if (dec.ok && d != Disposition::kComplete) __builtin_trap();
  // The retry budget is decided here: a spent budget never retries.
  if (retries >= budget && d == Disposition::kRetrySamePath) __builtin_trap();
  // A failed-over command is counted as a path error class, never as "other" or "media".
  if (failover && (dec.error_class == ErrorClass::kOther || dec.error_class == ErrorClass::kMedia))
    __builtin_trap();
  if (res > 0 && res <= 0xffff) {
    const NvmeStatus st{static_cast<uint16_t>(res)};
    if (st.code() != 0 && st.dnr() && d != Disposition::kComplete) __builtin_trap();  // DNR wins
    if (!st.dnr() && st.is_ana_error() && d != Disposition::kAnaFailover) __builtin_trap();
    if (!st.dnr() && st.sct() == kSctPath && d != Disposition::kFailover &&
        d != Disposition::kAnaFailover) __builtin_trap();
    // Kernel parity: every other non-DNR error is retried while the budget lasts.
    if (!st.dnr() && st.code() != 0 && !failover && retries < budget &&
        d != Disposition::kRetrySamePath) __builtin_trap();
    // A write the target may still execute is held only on the failover path.
    if (!st.dnr() && may_still_execute && !failover) __builtin_trap();
  }
  if (res < 0 && may_still_execute && !failover) __builtin_trap();
  // A command that must not run twice is sent again only when it did not execute; the path
  // action of a failover row is kept; nothing else changes.
  const bool may_have_executed = internal::MayHaveExecuted(res);
  if (may_still_execute && !may_have_executed) __builtin_trap();
  if (!dec.resend) __builtin_trap();  // the default (Resend::kAllowed) always resends
  const internal::Decision once = Decide(res, retries, budget, internal::Resend::kIfNotExecuted);
  if (once.ok != dec.ok || once.error_class != dec.error_class) __builtin_trap();
  if (!may_have_executed && (once.disposition != d || !once.resend)) __builtin_trap();
  if (may_have_executed) {
    if (once.disposition == Disposition::kRetrySamePath) __builtin_trap();
    if (failover && (once.disposition != d || once.resend)) __builtin_trap();
  }
  if ((res == -ENODEV || res == -ENXIO) && d != Disposition::kPathGone) __builtin_trap();
  if (res == -EBADF && (d != Disposition::kFailover || may_still_execute)) __builtin_trap();
  return 0;
}
