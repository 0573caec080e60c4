// File: poll_wait.h
//
// PollWaitNs(): how long a queue's Poll() may wait in the kernel for a completion. The caller's
// timeout bounds it, and so does every reason to wake with nothing reaped: a timer (a retry, a
// write hold, a resend, a parked command's no-path deadline, a failback delay; sliced to
// kParkedPollSliceNs so that path changes are noticed), the I/O deadline (the ring may stay
// silent), and commands the kernel has not taken yet (none may come: resubmit after
// UnsentCommands::kRetryNs). A pure function.
#ifndef NVME_MPATH_SRC_POLL_WAIT_H_
#define NVME_MPATH_SRC_POLL_WAIT_H_

#include <cstdint>
#include <limits>

namespace nvme_mpath::internal {

inline constexpr int64_t kParkedPollSliceNs = 10'000'000;  // wake up to notice path changes
inline constexpr int64_t kNoTimeNs = std::numeric_limits<int64_t>::max();

// What a Poll() at some moment has to wake up for.
struct PollWakeups {
  int64_t deadline_ns = kNoTimeNs;     // the caller's timeout (kNoTimeNs: none)
  bool timers = false;                 // a command waits for a time, or a failback delay runs
  int64_t next_timer_ns = kNoTimeNs;   // the earliest of those (read when `timers`)
  int64_t io_deadline_ns = kNoTimeNs;  // the earliest I/O deadline (kNoTimeNs: none)
  bool unsent = false;                 // prepared commands the kernel has not taken
};

// Returns how long to wait at `now` (0: not at all), or -1 for "until a completion comes".
int64_t PollWaitNs(int64_t now, const PollWakeups& w);

}  // namespace nvme_mpath::internal

#endif  // NVME_MPATH_SRC_POLL_WAIT_H_
