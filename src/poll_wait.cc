// File: poll_wait.cc
//
// PollWaitNs(): how long Poll() may wait in the kernel (see poll_wait.h).
#include "poll_wait.h"

#include <algorithm>

#include "unsent.h"

namespace nvme_mpath::internal {

int64_t PollWaitNs(int64_t now, const PollWakeups& w) {
  int64_t wait_ns = w.deadline_ns == kNoTimeNs ? -1 : w.deadline_ns - now;
  // Each bound below is a reason to wake before the caller's deadline with nothing reaped.
  auto bound = [&wait_ns](int64_t ns) {
    if (ns < 0) ns = 0;
    if (wait_ns < 0 || ns < wait_ns) wait_ns = ns;
  };
  if (w.timers) bound(std::min(w.next_timer_ns - now, kParkedPollSliceNs));
  if (w.io_deadline_ns != kNoTimeNs) bound(w.io_deadline_ns - now);
  if (w.unsent) bound(UnsentCommands::kRetryNs);
  return wait_ns;
}

}  // namespace nvme_mpath::internal
